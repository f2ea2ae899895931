"""Duplicate reports: within 50 m of an open case of the same category a report is linked to it and the
reporter told; the dispatcher merges or separates them. Distances are geodesic on WGS84."""
import pytest
from sqlalchemy import select

from engine.accounts.identity import SYSTEM
from engine.cases.location import distance_m, point_at
from engine.errors import Conflict, Forbidden
from engine.queries.duplicates import open_cases_near, possible_duplicate_of
from engine.queries.principals import load_principal
from engine.services.cases import StartCase, start_case
from engine.services.duplicates import (
    LinkIfDuplicate,
    MergeDuplicate,
    SeparateDuplicate,
    link_if_duplicate,
    merge_duplicate,
    separate_duplicate,
)
from engine.store.schema import case_events, cases, timers, work_items, workflow_instances

from .conftest import TAOYUAN, issue_key


def at(metres, bearing=63.0):
    return point_at(*TAOYUAN, bearing, metres)


def case(runtime, case_no):
    with runtime.uow(read_only=True) as uow:
        return uow.conn.execute(select(cases).where(cases.c.case_no == case_no)).one()


def history(runtime, case_id):
    with runtime.uow(read_only=True) as uow:
        return [(r.kind, r.data) for r in uow.conn.execute(select(case_events.c.kind, case_events.c.data)
                                                           .where(case_events.c.case_id == case_id)
                                                           .order_by(case_events.c.id))]


@pytest.mark.parametrize("bearing", [0.0, 90.0, 211.0])
def test_a_report_49_m_from_an_open_one_of_its_category_is_linked_and_the_reporter_told(open311, bearing):
    first = open311.report_id()
    response = open311.report(point=at(49.0, bearing))
    notice = response.get_json()[0]["service_notice"]
    second = response.get_json()[0]["service_request_id"]
    assert first in notice and "50" in notice
    original, duplicate = case(open311.runtime, first), case(open311.runtime, second)
    assert duplicate.duplicate_of == original.id
    linked = history(open311.runtime, duplicate.id)[-1]
    assert linked[0] == "duplicate_linked" and linked[1]["case_no"] == first and 48.9 < linked[1]["distance_m"] < 49.1
    assert ("duplicate_reported", second) in [(k, d.get("case_no")) for k, d in history(open311.runtime, original.id)]
    shown = open311.client.get(f"/open311/v2/requests/{second}.json").get_json()[0]
    assert first in shown["status_notes"] and shown["status"] == "open"


@pytest.mark.parametrize("bearing", [0.0, 90.0, 211.0])
def test_a_report_51_m_away_is_a_report_of_its_own(open311, bearing):
    first = open311.report_id()
    second = open311.report_id(point=at(51.0, bearing))
    assert case(open311.runtime, second).duplicate_of is None
    assert first not in open311.client.get(f"/open311/v2/requests/{second}.json").get_data(as_text=True)


def test_the_distance_is_measured_on_the_ellipsoid():
    # A thousandth of a degree of longitude at 25° N: 100.95 m on the ellipsoid (100.78 m on a sphere).
    assert distance_m(25.0, 121.0, 25.0, 121.001) == pytest.approx(100.95, abs=0.01)
    assert distance_m(*TAOYUAN, *at(49.0)) == pytest.approx(49.0, abs=1e-6)


def test_a_report_of_another_category_at_the_same_place_is_not_linked(open311):
    open311.report_id()
    light = open311.report_id(service_code="streetlight", point=at(5.0))
    assert case(open311.runtime, light).duplicate_of is None


def test_a_closed_case_at_the_same_place_does_not_catch_a_new_report(open311):
    first = open311.report_id()
    with open311.runtime.uow() as uow:
        uow.conn.execute(cases.update().where(cases.c.case_no == first).values(status="closed"))
        uow.commit()
    second = open311.report_id(point=at(10.0))
    assert case(open311.runtime, second).duplicate_of is None


def test_the_nearest_of_several_open_cases_is_the_one_linked(open311):
    open311.report_id(point=at(40.0, 0.0))
    near = open311.report_id(point=at(12.0, 180.0))
    third = open311.report_id()
    assert case(open311.runtime, third).duplicate_of == case(open311.runtime, near).id


def test_any_intake_with_a_point_calls_the_same_check(demo_runtime):
    # Given a dispatch case opened by the 1999 console's path (StartCase with a point)
    with demo_runtime.uow() as uow:
        first = start_case(StartCase("dispatch", channel="1999", category="dirty_spot", district="桃園",
                                     latitude=TAOYUAN[0], longitude=TAOYUAN[1]), uow)
        second = start_case(StartCase("dispatch", channel="web", category="dirty_spot", district="桃園",
                                      latitude=at(30.0)[0], longitude=at(30.0)[1]), uow)
        # When the second intake calls the check
        found = link_if_duplicate(LinkIfDuplicate(second.case_id), uow)
        # Then it is linked to the first; the first is never linked to a later report
        assert found.case_no == first.case_no
        assert link_if_duplicate(LinkIfDuplicate(first.case_id), uow) is None
        assert [c.case_no for c in open_cases_near(uow, "dirty_spot", *TAOYUAN)] == [first.case_no, second.case_no]
        assert possible_duplicate_of(uow, "dirty_spot", None, None) is None
        uow.commit()


def test_reports_across_a_grid_cell_border_are_found(demo_runtime):
    # 24.993999 and 24.994001 are in different rows of the grid, 0.2 m apart.
    with demo_runtime.uow() as uow:
        first = start_case(StartCase("dispatch", category="noise", district="桃園", latitude=24.993999,
                                     longitude=121.300999), uow)
        second = start_case(StartCase("dispatch", category="noise", district="桃園", latitude=24.994001,
                                      longitude=121.301001), uow)
        assert link_if_duplicate(LinkIfDuplicate(second.case_id), uow).case_no == first.case_no
        uow.commit()


# --- the dispatcher's decision ------------------------------------------------------------------------


def principal(runtime, username):
    with runtime.uow(read_only=True) as uow:
        return load_principal(uow, username=username)


def linked_pair(open311):
    first = open311.report_id(**{"attribute[road_width_m]": "20"})
    second = open311.report_id(point=at(20.0), **{"attribute[road_width_m]": "20"})
    return case(open311.runtime, first), case(open311.runtime, second)


def test_merging_closes_the_duplicate_its_work_and_deadlines_and_records_it_on_both(open311):
    original, duplicate = linked_pair(open311)
    with open311.runtime.uow() as uow:
        done = merge_duplicate(MergeDuplicate(principal(open311.runtime, "dispatcher"), duplicate.id, "同一坑洞"), uow)
        uow.commit()
    assert (done.decision, done.original_no) == ("merged", original.case_no)
    merged = case(open311.runtime, duplicate.case_no)
    assert (merged.status, merged.closed_at is not None) == ("closed", True)
    with open311.runtime.uow(read_only=True) as uow:
        assert set(uow.conn.execute(select(work_items.c.status).where(work_items.c.case_id == duplicate.id))
                   .scalars()) == {"cancelled"}
        assert "pending" not in set(uow.conn.execute(select(timers.c.status).where(timers.c.case_id == duplicate.id))
                                    .scalars())
        assert uow.conn.execute(select(workflow_instances.c.status)
                                .where(workflow_instances.c.case_id == duplicate.id)).scalar_one() == "cancelled"
    assert history(open311.runtime, duplicate.id)[-1][0] == "merged_as_duplicate"
    assert history(open311.runtime, original.id)[-1] == ("duplicate_merged", {
        "case_no": duplicate.case_no, "duplicate_case_id": duplicate.id, "note": "同一坑洞"})
    shown = open311.client.get(f"/open311/v2/requests/{duplicate.case_no}.json").get_json()[0]
    assert (shown["status"], shown["status_notes"]) == ("closed", f"Duplicate of {original.case_no}")
    assert case(open311.runtime, original.case_no).status == "open"


def test_separating_undoes_the_link_and_the_case_goes_on(open311):
    original, duplicate = linked_pair(open311)
    with open311.runtime.uow() as uow:
        separate_duplicate(SeparateDuplicate(principal(open311.runtime, "dispatcher"), duplicate.id), uow)
        uow.commit()
    after = case(open311.runtime, duplicate.case_no)
    assert (after.duplicate_of, after.status) == (None, "open")
    assert history(open311.runtime, duplicate.id)[-1][0] == "duplicate_separated"
    assert history(open311.runtime, original.id)[-1][0] == "duplicate_separated"
    assert open311.client.get(f"/open311/v2/requests/{duplicate.case_no}.json").get_json()[0]["status_notes"] is None


def test_only_a_dispatcher_merges_and_only_a_linked_open_case(open311):
    original, duplicate = linked_pair(open311)
    with open311.runtime.uow() as uow:
        with pytest.raises(Forbidden):
            merge_duplicate(MergeDuplicate(principal(open311.runtime, "cw.roads"), duplicate.id), uow)
        with pytest.raises(Conflict):
            merge_duplicate(MergeDuplicate(SYSTEM, original.id), uow)
        merge_duplicate(MergeDuplicate(SYSTEM, duplicate.id), uow)
        with pytest.raises(Conflict):
            separate_duplicate(SeparateDuplicate(SYSTEM, duplicate.id), uow)


def test_the_staff_api_lists_merges_and_separates(open311):
    from engine.services.access_tokens import CreateAccessToken, create_access_token
    original, duplicate = linked_pair(open311)
    again_first, other = linked_pair(open311)  # both again within 50 m of the original: linked to it
    with open311.runtime.uow() as uow:
        token = create_access_token(CreateAccessToken(principal(open311.runtime, "dispatcher"), "t"), uow).token
        worker = create_access_token(CreateAccessToken(principal(open311.runtime, "cw.roads"), "t"), uow).token
        uow.commit()
    client, auth = open311.client, {"Authorization": f"Bearer {token}"}
    listed = client.get(f"/api/v1/cases/{original.id}/duplicates", headers=auth).get_json()
    assert listed["original_no"] is None
    assert [c["case_no"] for c in listed["duplicates"]] == [duplicate.case_no, again_first.case_no, other.case_no]
    linked = client.get(f"/api/v1/cases/{duplicate.id}/duplicates", headers=auth).get_json()
    assert (linked["original_id"], linked["original_no"], linked["duplicates"]) == (original.id, original.case_no, [])
    refused = client.post(f"/api/v1/cases/{duplicate.id}/duplicate/merge", json={},
                          headers={"Authorization": f"Bearer {worker}"})
    assert refused.status_code == 403
    merged = client.post(f"/api/v1/cases/{duplicate.id}/duplicate/merge", json={"note": "同一處"}, headers=auth)
    assert merged.status_code == 200 and merged.get_json()["decision"] == "merged"
    again = client.post(f"/api/v1/cases/{duplicate.id}/duplicate/merge", json={}, headers=auth)
    assert again.status_code == 409
    separated = client.post(f"/api/v1/cases/{other.id}/duplicate/separate", json={}, headers=auth)
    assert separated.status_code == 200 and separated.get_json()["decision"] == "separated"
    assert client.post(f"/api/v1/cases/{other.id}/duplicate/merge", json={"note": "x" * 501},
                       headers=auth).status_code == 422


def test_a_second_app_key_reports_into_the_same_check(open311):
    first = open311.report_id()
    other_key = issue_key(open311.runtime, "另一個 app")
    second = open311.report_id(api_key=other_key, point=at(3.0))
    assert case(open311.runtime, second).duplicate_of == case(open311.runtime, first).id
