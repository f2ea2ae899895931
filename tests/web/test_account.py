"""My account: where I am signed in, and signing out everywhere else."""
from __future__ import annotations

from tests.web.conftest import text_of


def test_my_sessions_are_listed_and_the_others_end_at_one_click(sign_in, web):
    laptop = sign_in("cw.roads")
    phone = sign_in("cw.roads")
    other = sign_in("chief.roads")
    page = laptop.get("/account", headers={"User-Agent": "ignored here: the row keeps the sign-in's"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('<tr class="current">') == 1
    assert text_of(html).count("Werkzeug/") == 2  # the two sessions of cw.roads, not chief.roads's
    assert 'href="/account"' in laptop.get("/inbox").get_data(as_text=True)  # the user name links here

    done = laptop.post("/account/sign-out-elsewhere", follow_redirects=True)
    assert done.status_code == 200
    assert "已結束其他 1 個工作階段。" in text_of(done.get_data(as_text=True))
    assert laptop.get("/inbox").status_code == 200
    assert phone.get("/inbox").status_code == 302  # to the sign-in page
    assert other.get("/inbox").status_code == 200
    listed = text_of(laptop.get("/account").get_data(as_text=True))
    assert "已於" in listed and "結束" in listed and "目前這個" in listed


def test_signing_out_elsewhere_needs_the_csrf_token_and_a_session(sign_in, web):
    laptop = sign_in("cw.roads")
    phone = sign_in("cw.roads")
    assert laptop.post("/account/sign-out-elsewhere", csrf=False).status_code == 403
    assert phone.get("/inbox").status_code == 200
    anonymous = web.test_client()
    assert anonymous.get("/account").status_code == 302
    assert anonymous.post("/account/sign-out-elsewhere").status_code in (302, 403)
