"""Running a waiting case on when nothing is due changes nothing: no new version, no history."""
import pytest

from tests.scenarios.test_petition import SUBMIT, open_pothole_petition

STARTS = {
    "petition": lambda lib: open_pothole_petition(lib),
    "hotline": lambda lib: lib.start("hotline", channel="1999", category="road_pothole", district="桃園"),
    "dispatch": lambda lib: lib.start("dispatch", channel="app", category="streetlight", district="桃園"),
    "site_inspection": lambda lib: lib.start("site_inspection", channel="council", district="桃園"),
    "council_item": lambda lib: lib.start("council_item", channel="council"),
}


@pytest.mark.parametrize("case_type", sorted(STARTS))
def test_an_idle_run_of_a_waiting_case_writes_nothing(library, case_type):
    started = STARTS[case_type](library)
    before = library.instance(started.case_id)
    assert before.status == "waiting"
    events = len(library.events(started.case_id, "engine_steps"))
    result = library.run(started.instance_id)
    after = library.instance(started.case_id)
    assert (result.version, after.version, after.state) == (before.version, before.version, before.state)
    assert len(library.events(started.case_id, "engine_steps")) == events


def test_an_idle_run_after_some_steps_writes_nothing(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, SUBMIT)
    before = library.instance(started.case_id)
    library.run(started.instance_id)
    assert library.instance(started.case_id).version == before.version


def test_an_idle_run_writes_nothing_whatever_form_the_stored_state_is_in(library):
    """A state stored in another valid form (a task's data in full, as older versions wrote it) is not rewritten."""
    import json
    from uuid import UUID

    from sqlalchemy import update

    from engine.store.schema import workflow_instances

    started = open_pothole_petition(library)
    workflow = library.workflow(started.case_id)
    stored = json.loads(library.instance(started.case_id).state)
    task_id = next(t for t, task in stored["tasks"].items() if task["parent"] and task["delta"].get("updates"))
    stored["tasks"][task_id].update(data=workflow.get_task_from_id(UUID(task_id)).data, delta={})
    text = json.dumps(stored, separators=(",", ":"), ensure_ascii=False, default=str)
    with library.runtime.db.begin() as conn:
        conn.execute(update(workflow_instances).where(workflow_instances.c.id == started.instance_id)
                     .values(state=text))
    assert library.workflow(started.case_id).get_task_from_id(UUID(task_id)).data == \
        workflow.get_task_from_id(UUID(task_id)).data  # the same case, written differently
    library.run(started.instance_id)
    after = library.instance(started.case_id)
    assert (after.version, after.state) == (1, text)
    assert library.events(started.case_id, "engine_steps") == []
