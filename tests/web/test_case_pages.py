"""Case pages: the search, a case's page (its petitioner only where the role needs it, each showing
recorded), the diagram's data, and the case actions open to the user."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.schema import personal_data_reads
from tests.web.conftest import text_of


def test_a_word_found_in_a_subject_lists_the_case(sign_in):
    caseworker = sign_in("cw.roads")
    found = text_of(caseworker.get("/cases?text=坑洞").get_data(as_text=True))
    assert "P20261126000001" in found and "中正路與復興路口路面坑洞" in found
    assert "查無案件" in text_of(caseworker.get("/cases?text=不存在的字").get_data(as_text=True))


def test_the_handling_caseworker_sees_the_petitioner_and_the_showing_is_recorded(demo_runtime, sign_in):
    page = text_of(sign_in("cw.roads").get("/cases/1").get_data(as_text=True))
    assert "王小明" in page and "0912-345-678" in page
    with demo_runtime.uow(read_only=True) as uow:
        rows = uow.conn.execute(select(personal_data_reads.c.username, personal_data_reads.c.via,
                                       personal_data_reads.c.case_id)).all()
    assert [tuple(r) for r in rows] == [("cw.roads", "case_page", 1)]


def test_another_agencys_case_page_and_diagram_are_not_found_as_none_and_nothing_is_recorded(demo_runtime, sign_in):
    other = sign_in("cw.signals")
    for path in ("/cases/1", "/cases/1/diagram"):
        response = other.get(path)
        assert response.status_code == 404 and "王小明" not in response.get_data(as_text=True)
    assert other.get("/cases/999999").status_code == 404
    with demo_runtime.uow(read_only=True) as uow:
        assert uow.conn.execute(select(personal_data_reads)).first() is None


def test_the_diagram_names_the_task_the_case_waits_on(sign_in):
    found = sign_in("cw.roads").get("/cases/1/diagram").get_json()
    assert found["process_key"] == "petition" and found["version"] == 1
    assert found["open"] == ["draft_reply"] and found["done"] == []
    assert 'id="draft_reply"' in found["xml"]


def test_the_case_actions_offered_are_those_of_the_task_that_is_mine_to_complete(sign_in):
    caseworker = sign_in("cw.roads")
    page = caseworker.get("/cases/1").get_data(as_text=True)
    for choice in ("request_transfer", "request_extension", "request_supplement"):
        assert f"/work/1?draft_action={choice}" in page
    assert "routing_decision" not in page  # the dispatcher's actions are not a caseworker's
    chosen = caseworker.get("/work/1?draft_action=request_extension&draft_action=nonsense").get_data(as_text=True)
    assert '<option value="request_extension" selected>' in chosen
    assert 'value="nonsense"' not in caseworker.get("/work/1?draft_action=nonsense").get_data(as_text=True)
    assert "/work/1?draft_action" not in sign_in("chief.roads").get("/cases/1").get_data(as_text=True)


def test_a_case_is_found_by_its_number_and_a_number_not_mine_is_not_found(sign_in):
    caseworker = sign_in("cw.roads")
    page = caseworker.get("/cases/by-number/P20261126000001")
    assert page.status_code == 200 and "中正路與復興路口路面坑洞" in page.get_data(as_text=True)
    assert caseworker.get("/cases/by-number/P20261126000002").status_code == 404  # the signals unit's
    assert caseworker.get("/cases/by-number/P99999999999999").status_code == 404


def test_a_photo_is_attached_from_the_case_page_and_a_web_page_is_refused_naming_why(sign_in):
    from io import BytesIO

    from tests.unit.attachment_samples import PNG
    caseworker = sign_in("cw.roads")
    added = caseworker.post("/cases/1/attachments", {"file": (BytesIO(PNG), "坑洞.png")},
                            content_type="multipart/form-data")
    assert added.status_code == 302 and added.location == "/cases/1#files-h"
    page = caseworker.get("/cases/1").get_data(as_text=True)
    assert "已附加：坑洞.png" in text_of(page) and "image/png" in page
    download = page.split('href="/api/v1/attachments/')[1].split('"')[0]
    with caseworker.get(f"/api/v1/attachments/{download}") as content:  # a file sent from disk: closed after
        assert content.get_data() == PNG
    refused = caseworker.post("/cases/1/attachments", {"file": (BytesIO(b"<html><script>x</script>"), "a.html")},
                              content_type="multipart/form-data")
    assert refused.status_code == 302
    assert page.count("image/png") == caseworker.get("/cases/1").get_data(as_text=True).count("image/png")
    without_token = caseworker.post("/cases/1/attachments", {"file": (BytesIO(PNG), "b.png")}, csrf=False,
                                    content_type="multipart/form-data")
    assert without_token.status_code == 403


def test_every_case_action_the_engine_offers_has_words_on_the_page(web):
    """A carrier added to the engine without a label here would show its class name to staff."""
    from api.web.cases import _labels
    from engine.services.case_actions import CARRIERS

    with web.test_request_context("/"):
        labels = _labels()
    assert {cmd.__name__ for cmd in CARRIERS} <= set(labels)
    assert all(label and label != name for name, label in labels.items())


def test_every_kind_of_history_the_engine_writes_reads_as_words_on_the_timeline(demo_runtime, sign_in):
    """A kind of case event without a label would show its code (reminder_sent) to staff, in either language."""
    from sqlalchemy import insert

    from engine.cases.history import KINDS, event
    from engine.store.schema import case_events

    kinds = sorted(KINDS | _recorded_by_shipped_diagrams())
    with demo_runtime.uow() as uow:
        at = uow.clock.now()
        uow.conn.execute(insert(case_events), [{**event(1, at, "case_received"), "kind": kind} for kind in kinds])
        uow.commit()
    caseworker = sign_in("cw.roads")
    chinese = _timeline_kinds(caseworker.get("/cases/1").get_data(as_text=True))
    assert "已發送提醒" in chinese and "工作項目撤銷" in chinese
    caseworker.get("/language/en?next=/cases/1")
    english = _timeline_kinds(caseworker.get("/cases/1").get_data(as_text=True))
    assert "Reminder sent" in english and "Site visit recorded" in english
    for shown in (chinese, english):
        assert len(shown) >= len(kinds) and set(shown).isdisjoint(kinds)


def _timeline_kinds(page: str) -> list:
    """What the timeline says each entry is (its bold words)."""
    import re

    timeline = page[page.index('<ol class="timeline">'):]
    return re.findall(r"<strong>([^<]*)</strong>", timeline[:timeline.index("</ol>")])


def _recorded_by_shipped_diagrams() -> set:
    """The kinds of history the shipped diagrams write through the engine action record_event."""
    import re
    from pathlib import Path

    found = set()
    for diagram in (Path(__file__).parents[2] / "workflows").glob("*.bpmn"):
        text = diagram.read_text(encoding="utf-8")
        for call in re.findall(r'serviceTaskOperator id="record_event".*?</spiffworkflow:serviceTaskOperator>', text, re.S):
            found |= set(re.findall(r'<spiffworkflow:parameter id="kind" type="str" value=\'"(\w+)"\'', call))
    assert {"call_transferred", "closed_without_processing", "merged"} <= found
    return found


def test_the_engine_writes_no_kind_of_history_it_does_not_name():
    from datetime import datetime, timezone

    import pytest

    from engine.cases.history import event

    with pytest.raises(ValueError, match="unknown kind of case event 'reminded'"):
        event(1, datetime(2026, 12, 1, tzinfo=timezone.utc), "reminded")
