"""Administration through the API: accounts, roles and groups, and membership applying to open work at once."""
from __future__ import annotations

from tests.unit.queries_city import taipei


def test_an_administrator_opens_an_account_grants_a_role_and_the_work_appears_at_once(api):
    item = api.open_case(taipei(24), process="form_reply").work_item_ids[0]
    admin = api.as_("admin")
    made = admin.post("/api/v1/admin/users", json={"username": "cw.new", "display_name": "新承辦人",
                                                   "agency_code": "public_works"})
    assert made.status_code == 201
    user_id = made.get_json()["id"]
    newcomer = api.as_("cw.new")
    assert newcomer.get("/api/v1/inbox").get_json()["items"] == []
    granted = admin.post(f"/api/v1/admin/users/{user_id}/roles", json={"role": "caseworker", "agency_code": "public_works"})
    assert granted.status_code == 200
    assert [i["work_item_id"] for i in newcomer.get("/api/v1/inbox").get_json()["items"]] == [item]
    revoked = admin.post(f"/api/v1/admin/users/{user_id}/roles/revoke",
                         json={"role": "caseworker", "agency_code": "public_works"})
    assert revoked.get_json() == {"groups_left": 1}
    assert newcomer.get("/api/v1/inbox").get_json()["items"] == []
    detail = admin.get(f"/api/v1/admin/users/{user_id}").get_json()
    assert detail["user"]["username"] == "cw.new" and detail["roles"] == [] and detail["has_password"] is False


def test_a_deactivated_account_s_tokens_stop_working(api):
    caller = api.as_("cw.bridges")
    assert caller.get("/api/v1/inbox").status_code == 200
    answer = api.as_("admin").post(f"/api/v1/admin/users/{api.user_id('cw.bridges')}/deactivate")
    assert answer.status_code == 200 and answer.get_json()["revoked_tokens"] >= 1
    assert caller.get("/api/v1/inbox").status_code == 401


def test_only_administrators_administer(api):
    caller = api.as_("chief.roads")
    assert caller.get("/api/v1/admin/users").status_code == 403
    assert caller.post("/api/v1/admin/users", json={"username": "x.y.z", "display_name": "x"}).status_code == 403
    assert caller.post(f"/api/v1/admin/users/{api.user_id('cw.roads')}/roles",
                       json={"role": "supervisor", "agency_code": "public_works"}).status_code == 403


def test_bad_account_fields_are_named_and_nothing_is_made(api):
    admin = api.as_("admin")
    answer = admin.post("/api/v1/admin/users", json={"username": "Bad Name!", "display_name": "x", "password": "short"})
    assert answer.status_code == 400
    assert set(answer.get_json()["errors"]["fields"]) >= {"username", "password"}
    assert admin.get("/api/v1/admin/users", query_string={"text": "Bad"}).get_json()["users"] == []
    taken = admin.post("/api/v1/admin/users", json={"username": "cw.roads", "display_name": "again"})
    assert taken.status_code == 409


def test_agencies_units_and_groups(api):
    admin = api.as_("admin")
    assert admin.post("/api/v1/admin/agencies", json={"code": "fire", "name": "消防局"}).status_code == 201
    assert admin.post("/api/v1/admin/agencies/fire/units", json={"code": "rescue", "name": "救災救護科"}).status_code == 201
    fire = next(a for a in admin.get("/api/v1/admin/agencies").get_json() if a["code"] == "fire")
    assert [u["code"] for u in fire["units"]] == ["rescue"] and fire["kind"] == "bureau"
    made = admin.post("/api/v1/admin/groups", json={"code": "cw@fire", "name": "消防局承辦人", "role": "caseworker",
                                                    "agency_code": "fire"})
    assert made.status_code == 201
    assert admin.post("/api/v1/admin/groups/cw@fire/members", json={"user_id": api.user_id("cw.roads")}).get_json() \
        == {"changed": True}
    assert [m["username"] for m in admin.get("/api/v1/admin/groups/cw@fire/members").get_json()] == ["cw.roads"]
    unknown_role = admin.post("/api/v1/admin/groups", json={"code": "x", "name": "x", "role": "mayor"})
    assert unknown_role.status_code == 400 and "role" in unknown_role.get_json()["errors"]["fields"]
    history = admin.get(f"/api/v1/admin/history/agency/{fire['id']}").get_json()
    assert history and history[0]["actor"] == "admin"


def test_closing_an_account_gives_its_open_work_back_to_the_group(api):
    item = api.open_case(taipei(24), process="form_reply").work_item_ids[0]
    assert api.as_("cw.bridges").post(f"/api/v1/work-items/{item}/claim").status_code == 200
    api.as_("admin").post(f"/api/v1/admin/users/{api.user_id('cw.bridges')}/deactivate")
    [row] = api.as_("cw.roads").get("/api/v1/inbox").get_json()["items"]
    assert (row["work_item_id"], row["assignee"]) == (item, None)
    page = api.as_("chief.roads").get(f"/api/v1/cases/{row['case_id']}").get_json()
    assert page["timeline"][-1]["kind"] == "task_unclaimed" and page["timeline"][-1]["data"]["reason"] == "account_closed"
