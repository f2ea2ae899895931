"""Who works an item: claiming, giving back, assigning one or many, drafts of the form."""
import threading

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services.work_items import (
    MAX_DRAFT_BYTES,
    AssignWorkItem,
    AssignWorkItems,
    ClaimWorkItem,
    SaveDraft,
    UnclaimWorkItem,
    assign_work_item,
    assign_work_items,
    claim_work_item,
    save_draft,
    unclaim_work_item,
)
from engine.store.schema import case_events, users, work_item_drafts, work_items, workflow_instances
from tests.unit.queries_city import build_city, city, taipei  # noqa: F401


def run(city, service, cmd_type, item_id, username, *args, **kw):
    """One unit of work calling one service as `username`, committed if it succeeds."""
    cmd = cmd_type(item_id, city.principal(username), *args, **kw)
    with city.runtime.uow() as uow:
        result = service(cmd, uow)
        uow.commit()
    return result


def claim(city, item_id, username, **kw):
    return run(city, claim_work_item, ClaimWorkItem, item_id, username, **kw)


def unclaim(city, item_id, username):
    return run(city, unclaim_work_item, UnclaimWorkItem, item_id, username)


def assign(city, item_id, username, to):
    return run(city, assign_work_item, AssignWorkItem, item_id, username, None if to is None else city.user_id(to))


def draft(city, item_id, username, data):
    return run(city, save_draft, SaveDraft, item_id, username, data)


def item(city, item_id):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(work_items.c.assignee_id, work_items.c.version, work_items.c.status)
                            .where(work_items.c.id == item_id)).one()


def events(city, kind):
    with city.runtime.db.connect() as conn:
        return [(r.username, r.work_item_id, r.data) for r in conn.execute(
            select(users.c.username, case_events.c.work_item_id, case_events.c.data)
            .join(users, users.c.id == case_events.c.actor_id, isouter=True)
            .where(case_events.c.kind == kind).order_by(case_events.c.id))]


def instance_versions(city):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(workflow_instances.c.version).order_by(workflow_instances.c.id)).scalars().all()


@pytest.fixture
def reply(city):
    """An open reply of 工務局, open to its caseworkers (cw.roads, cw.bridges)."""
    return city, city.open_case(taipei(26)).work_item_ids[0]


def test_a_caseworker_claims_an_open_item_of_their_group_and_the_case_history_says_so(reply):
    city, item_id = reply
    versions = instance_versions(city)
    claimed = claim(city, item_id, "cw.roads")
    assert (claimed.assignee, claimed.version, claimed.changed) == ("cw.roads", 2, True)
    assert tuple(item(city, item_id)) == (city.user_id("cw.roads"), 2, "open")
    assert events(city, "task_claimed") == [("cw.roads", item_id, {"task": "reply", "name": "Draft the reply",
                                                                   "to": "cw.roads"})]
    assert instance_versions(city) == versions  # the workflow is not touched
    assert [i.work_item_id for i in city.page("cw.roads", view="mine").items] == [item_id]
    assert city.page("cw.bridges").items == ()


def test_claiming_an_item_i_hold_already_changes_nothing(reply):
    city, item_id = reply
    claim(city, item_id, "cw.roads")
    again = claim(city, item_id, "cw.roads")
    assert (again.assignee, again.version, again.changed) == ("cw.roads", 2, False)
    assert len(events(city, "task_claimed")) == 1


def test_an_item_a_colleague_holds_cannot_be_claimed_and_the_conflict_names_them(reply):
    city, item_id = reply
    claim(city, item_id, "cw.roads")
    with pytest.raises(Conflict) as refused:
        claim(city, item_id, "cw.bridges")
    assert "cw.roads" in refused.value.message and refused.value.details == {"assignee": "cw.roads"}
    assert tuple(item(city, item_id)) == (city.user_id("cw.roads"), 2, "open")
    assert len(events(city, "task_claimed")) == 1


def test_another_agencys_caseworker_is_told_the_item_does_not_exist(reply):
    city, item_id = reply
    with pytest.raises(NotFound) as hidden:
        claim(city, item_id, "cw.signals")
    with pytest.raises(NotFound) as missing:
        claim(city, 9999, "cw.signals")
    assert hidden.value.message.replace(str(item_id), "N") == missing.value.message.replace("9999", "N")
    assert tuple(item(city, item_id)) == (None, 1, "open")


def test_who_sees_the_item_without_holding_its_role_may_not_claim_it(reply):
    city, item_id = reply
    with pytest.raises(Forbidden):
        claim(city, item_id, "chief.roads")
    assert tuple(item(city, item_id)) == (None, 1, "open")


def test_a_claim_on_a_version_seen_before_a_change_is_a_conflict(reply):
    city, item_id = reply
    claim(city, item_id, "cw.roads")
    unclaim(city, item_id, "cw.roads")
    with pytest.raises(Conflict) as stale:
        claim(city, item_id, "cw.bridges", expected_version=2)
    assert stale.value.details == {"expected_version": 2, "version": 3}
    assert claim(city, item_id, "cw.bridges", expected_version=3).version == 4


def test_a_completed_item_cannot_be_claimed(reply):
    city, item_id = reply
    city.complete(item_id, "cw.roads")
    with pytest.raises(Conflict, match="already completed"):
        claim(city, item_id, "cw.bridges")


def test_the_assignee_or_a_supervisor_gives_an_item_back_to_the_group_and_no_one_else(reply):
    city, item_id = reply
    claim(city, item_id, "cw.roads")
    with pytest.raises(Forbidden):
        unclaim(city, item_id, "cw.bridges")
    back = unclaim(city, item_id, "cw.roads")
    assert (back.assignee_id, back.changed) == (None, True)
    claim(city, item_id, "cw.bridges")
    unclaim(city, item_id, "chief.roads")
    assert item(city, item_id).assignee_id is None
    assert unclaim(city, item_id, "cw.roads").changed is False  # nobody holds it: nothing to give back
    assert events(city, "task_unclaimed") == [
        ("cw.roads", item_id, {"task": "reply", "name": "Draft the reply", "from": "cw.roads"}),
        ("chief.roads", item_id, {"task": "reply", "name": "Draft the reply", "from": "cw.bridges"})]


def test_a_section_chief_assigns_an_item_to_a_caseworker_of_the_agency_and_back_to_the_group(reply):
    city, item_id = reply
    given = assign(city, item_id, "chief.roads", "cw.bridges")
    assert (given.assignee, given.version) == ("cw.bridges", 2)
    assign(city, item_id, "head.works", "cw.roads")
    assert assign(city, item_id, "admin", None).assignee_id is None
    assert [(who, data["from"], data["to"]) for who, _, data in events(city, "task_assigned")] == [
        ("chief.roads", None, "cw.bridges"), ("head.works", "cw.bridges", "cw.roads"), ("admin", "cw.roads", None)]
    assert tuple(item(city, item_id)) == (None, 4, "open")


def test_assigning_to_someone_without_the_items_role_in_its_agency_names_the_field(reply):
    city, item_id = reply
    for to in ("cw.signals", "chief.roads", "admin"):  # another agency's, another role, an administrator
        with pytest.raises(InvalidInput) as refused:
            assign(city, item_id, "chief.roads", to)
        assert list(refused.value.details["fields"]) == ["assignee_id"]
    with pytest.raises(InvalidInput) as unknown:
        run(city, assign_work_item, AssignWorkItem, item_id, "chief.roads", 9999)
    assert list(unknown.value.details["fields"]) == ["assignee_id"]
    assert tuple(item(city, item_id)) == (None, 1, "open") and events(city, "task_assigned") == []


def test_only_a_supervisor_of_the_items_agency_assigns_it(reply):
    city, item_id = reply
    with pytest.raises(Forbidden):
        assign(city, item_id, "cw.roads", "cw.roads")
    with pytest.raises(NotFound):
        assign(city, item_id, "chief.signals", "cw.roads")  # 交通局's chief does not see 工務局's case
    assert tuple(item(city, item_id)) == (None, 1, "open")


def assign_many(city, ids, username, to):
    cmd = AssignWorkItems(tuple(ids), city.principal(username), city.user_id(to))
    with city.runtime.uow() as uow:
        result = assign_work_items(cmd, uow)
        uow.commit()
    return result


def test_a_bulk_assignment_assigns_every_item_or_none_naming_each_that_cannot_be(city):
    ids = [city.open_case(taipei(day)).work_item_ids[0] for day in (23, 24, 25)]
    done = ids[1]
    city.complete(done, "cw.roads")
    transport = city.open_case(taipei(26), agency="transport").work_item_ids[0]
    with pytest.raises(NotFound) as refused:
        assign_many(city, [*ids, transport], "chief.roads", "cw.bridges")
    assert set(refused.value.details["work_items"]) == {str(done), str(transport)}
    assert "already completed" in refused.value.details["work_items"][str(done)]
    with pytest.raises(Conflict):
        assign_many(city, ids, "chief.roads", "cw.bridges")
    assert [item(city, i).assignee_id for i in ids] == [None, None, None]
    assert events(city, "task_assigned") == []

    open_ids = [ids[0], ids[2]]
    given = assign_many(city, open_ids + [ids[0]], "chief.roads", "cw.bridges")
    assert [(g.work_item_id, g.assignee, g.changed) for g in given] == [(i, "cw.bridges", True) for i in open_ids]
    assert [i.work_item_id for i in city.page("cw.bridges", view="mine").items] == open_ids


def test_a_bulk_assignment_to_someone_outside_an_items_agency_is_invalid_input(city):
    ids = [city.open_case(taipei(23)).work_item_ids[0], city.open_case(taipei(24), agency="transport").work_item_ids[0]]
    with pytest.raises(InvalidInput) as refused:
        assign_many(city, ids, "admin", "cw.signals")
    assert list(refused.value.details["work_items"]) == [str(ids[0])]
    assert list(refused.value.details["fields"]) == ["assignee_id"]
    assert [item(city, i).assignee_id for i in ids] == [None, None]


def drafts(city):
    with city.runtime.db.connect() as conn:
        return [(r.work_item_id, r.user_id, r.data) for r in conn.execute(select(work_item_drafts))]


def test_a_draft_is_kept_per_person_and_replaced_when_saved_again(reply):
    city, item_id = reply
    saved = draft(city, item_id, "cw.roads", {"reply_text": "本局將於下週修補"})
    assert saved.saved_at == city.clock.now()
    draft(city, item_id, "cw.roads", {"reply_text": "本局已排定 12 月 1 日修補"})
    draft(city, item_id, "cw.bridges", {"reply_text": "另一份"})
    assert sorted(drafts(city)) == sorted([(item_id, city.user_id("cw.roads"), {"reply_text": "本局已排定 12 月 1 日修補"}),
                                           (item_id, city.user_id("cw.bridges"), {"reply_text": "另一份"})])
    assert tuple(item(city, item_id)) == (None, 1, "open") and events(city, "task_claimed") == []


def test_a_draft_that_is_not_an_object_or_too_large_is_refused(reply):
    city, item_id = reply
    for data in (["a list"], {"text": "x" * MAX_DRAFT_BYTES}, {"n": float("nan")}, {"text": "\ud800"}):
        with pytest.raises(InvalidInput) as refused:
            draft(city, item_id, "cw.roads", data)
        assert list(refused.value.details["fields"]) == ["data"]
    assert drafts(city) == []


def test_only_who_may_complete_the_item_saves_a_draft_of_it(reply):
    city, item_id = reply
    claim(city, item_id, "cw.roads")
    for username, error in (("cw.bridges", Forbidden), ("chief.roads", Forbidden), ("cw.signals", NotFound)):
        with pytest.raises(error):
            draft(city, item_id, username, {"reply_text": "?"})
    assert drafts(city) == []


def test_completing_an_item_deletes_its_drafts(reply):
    city, item_id = reply
    other = city.open_case(taipei(27)).work_item_ids[0]
    draft(city, item_id, "cw.roads", {"reply_text": "草稿"})
    draft(city, item_id, "cw.bridges", {"reply_text": "另一份"})
    draft(city, other, "cw.roads", {"reply_text": "別案"})
    city.complete(item_id, "cw.roads")
    assert drafts(city) == [(other, city.user_id("cw.roads"), {"reply_text": "別案"})]
    with pytest.raises(Conflict):
        draft(city, item_id, "cw.roads", {"reply_text": "太遲"})


@pytest.mark.postgres
def test_two_claims_at_once_on_postgresql_give_one_success_and_one_conflict_naming_the_winner(pg_runtime, clock):
    city = build_city(pg_runtime, clock)
    item_id = city.open_case(taipei(26)).work_item_ids[0]
    principals = {name: city.principal(name) for name in ("cw.roads", "cw.bridges")}
    both_read = threading.Barrier(2, timeout=10)
    outcomes = {}

    def attempt(name):
        with pg_runtime.uow() as uow:
            uow.conn.execute(select(work_items.c.id))  # both have read before either writes
            both_read.wait()
            try:
                claim_work_item(ClaimWorkItem(item_id, principals[name]), uow)
                uow.commit()
                outcomes[name] = "claimed"
            except Conflict as exc:
                outcomes[name] = exc.details.get("assignee")

    threads = [threading.Thread(target=attempt, args=(name,)) for name in principals]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    winner = next(name for name, outcome in outcomes.items() if outcome == "claimed")
    loser = next(name for name in principals if name != winner)
    assert outcomes[loser] == winner
    assert tuple(item(city, item_id)) == (city.user_id(winner), 2, "open")
    with pg_runtime.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(case_events)
                            .where(case_events.c.kind == "task_claimed")).scalar_one() == 1
