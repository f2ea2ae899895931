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
