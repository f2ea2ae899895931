"""Signing in with a browser session: the cookie, CSRF, sign-out, lockouts that reveal nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from api.app import create_app
from engine.accounts.passwords import hash_password
from engine.store.schema import group_members, users

pytestmark = pytest.mark.slow  # every sign-in checks an Argon2id hash, as it must

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(api):
    """cw.roads has a password; the client keeps cookies like a browser."""
    with api.runtime.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "cw.roads").values(password_hash=hash_password(PASSWORD)))
    return api.app.test_client()


def sign_in(client, username="cw.roads", password=PASSWORD):
    return client.post("/api/v1/session", json={"username": username, "password": password})


def test_signing_in_sets_an_httponly_samesite_cookie_and_names_my_roles(browser, api):
    answer = sign_in(browser)
    assert answer.status_code == 200
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("petiflow_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    me = answer.get_json()
    assert me["username"] == "cw.roads" and me["csrf_token"]
    assert me["roles"] == [{"role": "caseworker", "agency_id": api.agency_id("public_works")}]
    assert browser.get("/api/v1/session").get_json()["csrf_token"] == me["csrf_token"]


def test_the_cookie_is_secure_when_petiflow_is_served_over_tls(browser, runtime):
    secure = create_app(settings=runtime.settings.but(secure_cookies=True), runtime=runtime)
    assert "Secure" in sign_in(secure.test_client()).headers["Set-Cookie"]


def test_a_change_made_with_the_cookie_needs_the_csrf_token(browser):
    csrf = sign_in(browser).get_json()["csrf_token"]
    refused = browser.post("/api/v1/tokens", json={"name": "laptop"})
    assert refused.status_code == 403 and refused.get_json()["errors"] == {"header": "X-CSRF-Token"}
    assert browser.post("/api/v1/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert browser.get("/api/v1/tokens").get_json() == []
    made = browser.post("/api/v1/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_signing_out_ends_the_session(browser):
    csrf = sign_in(browser).get_json()["csrf_token"]
    assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/v1/session").status_code == 401


def _cookie(answer) -> tuple[str, str]:
    return tuple(answer.headers["Set-Cookie"].split(";", 1)[0].split("=", 1))


def test_a_copy_of_the_cookie_is_worth_nothing_after_signing_out(browser, api):
    signed_in = sign_in(browser)
    name, value = _cookie(signed_in)
    csrf = signed_in.get_json()["csrf_token"]
    copy = api.app.test_client()  # another machine holding a copy of the cookie (a shared computer, a log)
    copy.set_cookie(name, value)
    assert copy.get("/api/v1/session").status_code == 200
    assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert copy.get("/api/v1/session").status_code == 401
    assert copy.get("/api/v1/inbox").status_code == 401
    # Signing in again opens a new session; the old cookie stays dead.
    assert sign_in(browser).status_code == 200
    copy.set_cookie(name, value)
    assert copy.get("/api/v1/session").status_code == 401


def test_signing_out_everywhere_else_ends_my_other_sessions_only(browser, api):
    laptop, phone, mine = browser, api.app.test_client(), api.app.test_client()
    csrf = sign_in(laptop).get_json()["csrf_token"]
    sign_in(phone)
    chen = api.app.test_client()  # another user's session is not touched
    with api.runtime.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "chief.roads").values(password_hash=hash_password(PASSWORD)))
    sign_in(chen, "chief.roads")
    ended = laptop.delete("/api/v1/session/others", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 200 and ended.get_json() == {"ended": 1}
    assert laptop.get("/api/v1/session").status_code == 200
    assert phone.get("/api/v1/session").status_code == 401
    assert chen.get("/api/v1/session").status_code == 200
    assert mine.get("/api/v1/session").status_code == 401  # never signed in
    assert laptop.delete("/api/v1/session/others").status_code == 403  # a change: the CSRF token is needed


def test_a_new_password_or_a_closed_account_ends_every_session(browser, api):
    sign_in(browser)
    admin = api.app.test_client()
    with api.runtime.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "admin").values(password_hash=hash_password(PASSWORD)))
    admin_csrf = sign_in(admin, "admin").get_json()["csrf_token"]
    user_id = browser.get("/api/v1/session").get_json()["user_id"]
    put = admin.put(f"/api/v1/admin/users/{user_id}/password", json={"password": "a new long password 2026"},
                    headers={"X-CSRF-Token": admin_csrf})
    assert put.status_code == 204
    assert browser.get("/api/v1/session").status_code == 401
    assert sign_in(browser, password="a new long password 2026").status_code == 200
    ended = admin.delete(f"/api/v1/admin/users/{user_id}/sessions", headers={"X-CSRF-Token": admin_csrf})
    assert ended.status_code == 200 and ended.get_json() == {"ended": 1}
    assert browser.get("/api/v1/session").status_code == 401
    assert admin.get("/api/v1/session").status_code == 200
    # Only administrators end another user's sessions.
    sign_in(browser, password="a new long password 2026")
    csrf = browser.get("/api/v1/session").get_json()["csrf_token"]
    admin_id = admin.get("/api/v1/session").get_json()["user_id"]
    refused = browser.delete(f"/api/v1/admin/users/{admin_id}/sessions", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert admin.get("/api/v1/session").status_code == 200


def test_a_fresh_cookie_is_not_signed_again_on_every_response_and_a_forged_one_is_refused(browser):
    cookie = sign_in(browser).headers["Set-Cookie"].split(";", 1)[0]
    again = browser.get("/api/v1/session")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers  # renewed when 5 minutes old
    assert browser.get("/api/v1/session").status_code == 200  # the same cookie, its signature known now
    name, value = cookie.split("=", 1)
    forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    browser.set_cookie(name, forged)
    assert browser.get("/api/v1/session").status_code == 401
    browser.set_cookie(name, value)
    assert browser.get("/api/v1/session").status_code == 200


def test_without_credentials_the_api_answers_401_in_the_error_shape(api):
    answer = api.app.test_client().get("/api/v1/inbox")
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "not_authenticated" and "sign in" in answer.get_json()["message"]


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(browser):
    wrong, unknown = sign_in(browser, password="not it at all"), sign_in(browser, username="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert "Set-Cookie" not in wrong.headers


def test_a_request_body_that_is_not_a_sign_in_is_refused_naming_the_field(browser):
    answer = browser.post("/api/v1/session", json={"username": "cw.roads"})
    assert answer.status_code == 422 and "password" in answer.get_json()["errors"]["json"]


def test_failed_sign_ins_lock_the_account_for_a_while_even_for_the_right_password(browser):
    for _ in range(5):
        assert sign_in(browser, password="guess").status_code == 401
    locked = sign_in(browser)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.get_json()["error"] == "too_many_requests"


def test_a_locked_unknown_account_looks_exactly_like_a_locked_real_one(browser):
    for username in ("cw.roads", "no.such.user"):
        for _ in range(5):
            sign_in(browser, username=username, password="guess")
    real, unknown = sign_in(browser), sign_in(browser, username="no.such.user", password=PASSWORD)
    assert real.status_code == unknown.status_code == 429
    assert real.get_json() == unknown.get_json()


def test_successful_sign_ins_do_not_count_towards_a_lockout(browser):
    for _ in range(8):
        assert sign_in(browser).status_code == 200


def test_a_change_of_groups_applies_at_the_next_request(browser, api):
    sign_in(browser)
    user_id = api.user_id("cw.roads")
    with api.runtime.db.begin() as conn:
        conn.execute(group_members.delete().where(group_members.c.user_id == user_id))
    assert browser.get("/api/v1/session").get_json()["roles"] == []


def test_a_closed_account_s_session_stops_working(browser, api):
    sign_in(browser)
    with api.runtime.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "cw.roads").values(active=False))
    assert browser.get("/api/v1/session").status_code == 401


def test_text_no_database_can_keep_is_refused_naming_where_it_is(api):
    caller = api.as_("cw.roads")
    answer = caller.post("/api/v1/tokens", json={"name": "lap\x00top"})
    assert answer.status_code == 400 and list(answer.get_json()["errors"]["fields"]) == ["name"]
    nested = caller.put("/api/v1/work-items/1/draft", data='{"data": {"reply": ["ok", "\\ud800"]}}',
                        content_type="application/json")
    assert nested.status_code == 400 and list(nested.get_json()["errors"]["fields"]) == ["data.reply.1"]
    query = caller.get("/api/v1/cases", query_string={"text": "路\x00燈"})
    assert query.status_code == 400 and list(query.get_json()["errors"]["fields"]) == ["text"]
    assert caller.get("/api/v1/tokens").get_json() == [t for t in caller.get("/api/v1/tokens").get_json()
                                                       if t["name"] != "lap\x00top"]
