"""The site inspection process (會勘): scheduling, minutes, and follow-up items each tracked to done."""
SCHEDULE = {"schedule_decision": "schedule", "inspection_at": "2026-12-03T14:00:00+08:00",
            "meeting_place": "大溪區員林路與康莊路口", "invited_agencies": ["water", "public_works", "district_daxi"],
            "councillor_office": "王議員服務處"}
MINUTES = "會勘結論：排水溝加蓋由水務局辦理，路面刨鋪由工務局辦理，人行道由區公所改善。"


def request(library):
    started = library.start("site_inspection", channel="council_referral", district="大溪",
                            subject="員林路排水改善會勘",
                            data={"requested_by": "councillor_office", "requester": "王議員服務處"})
    schedule = library.item(started.case_id, "schedule_inspection")
    assert (schedule.role, schedule.agency_id) == ("reviewer", None)
    return started


def test_a_declined_request_ends_with_its_reason(library):
    started = request(library)
    done = library.complete(library.item(started.case_id, "schedule_inspection").id,
                            {"schedule_decision": "decline", "decline_reason": "已於上月會勘並列管中"})
    assert done.status == "completed"
    assert library.data(started.case_id)["outcome"] == "declined"


def test_an_inspection_without_follow_ups_ends_with_its_minutes(library):
    started = request(library)
    library.complete(library.item(started.case_id, "schedule_inspection").id, SCHEDULE)
    minutes = library.item(started.case_id, "record_minutes")
    assert minutes.role == "reviewer"
    done = library.complete(minutes.id, {"minutes": "現場確認已改善，無待辦事項。", "attendees": ["水務局 陳科長"],
                                         "follow_up_items": []})
    assert done.status == "completed"
    data = library.data(started.case_id)
    assert data["outcome"] == "completed" and "follow_up_results" not in data


def test_every_follow_up_item_is_tracked_to_done(library):
    started = request(library)
    library.complete(library.item(started.case_id, "schedule_inspection").id, SCHEDULE)
    items = [{"item": "排水溝加蓋", "agency_code": "water", "due_date": "2026-12-17"},
             {"item": "路面刨鋪", "agency_code": "public_works", "due_date": "2026-12-31"},
             {"item": "人行道改善", "agency_code": "district_daxi"}]
    library.complete(library.item(started.case_id, "record_minutes").id,
                     {"minutes": MINUTES, "attendees": ["水務局", "工務局", "大溪區公所"], "follow_up_items": items})
    tracked = library.items(started.case_id, "track_follow_up")
    assert [i.role for i in tracked] == ["reviewer"] * 3
    assert sorted(library.data(started.case_id, i)["follow_up"]["item"] for i in tracked) == \
        ["人行道改善", "排水溝加蓋", "路面刨鋪"]

    for n, item in enumerate(tracked[:2]):
        step = library.complete(item.id, {"done_on": f"2026-12-1{n}", "result_note": "已完成"})
        assert step.status == "waiting"
    done = library.complete(tracked[2].id, {"done_on": "2026-12-20", "result_note": "已改善並拍照存查"})
    assert done.status == "completed"
    results = library.data(started.case_id)["follow_up_results"]
    assert sorted(r["agency_code"] for r in results) == ["district_daxi", "public_works", "water"]
    assert {r["done_on"] for r in results} == {"2026-12-10", "2026-12-11", "2026-12-20"}
