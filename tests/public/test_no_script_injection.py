"""A stored-XSS attempt in every field of the mailbox is shown as text wherever it is shown later."""
from __future__ import annotations

import io

from sqlalchemy import select

from engine.services.notifications import Delivery
from engine.settings import EmailSettings
from engine.store.schema import outbox
from handlers.notify_email import build_message
from tests.web.conftest import csrf_of, text_of

from .conftest import photo_with_exif

ATTACK = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


def _no_markup(html: str) -> None:
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_every_field_is_shown_as_text_on_the_staff_pages_and_in_the_receipt(city, web, sign_in):
    client = web.test_client()
    token = csrf_of(client.get("/mailbox").get_data(as_text=True))
    fields = {"subject": "坑洞" + ATTACK, "description": ATTACK, "location": ATTACK, "name": ATTACK,
              "address": ATTACK, "email": "ming@example.tw", "category": "road_pothole", "district": "桃園"}
    # Fields whose check refuses markup: the refusal echoes them as text.
    refused = client.post("/mailbox", data={"csrf_token": token, **fields, "phone": ATTACK, "latitude": ATTACK,
                                            "longitude": ATTACK, "category": ATTACK, "district": ATTACK,
                                            "email": "x<script>alert(1)</script>@example.tw"})
    assert refused.status_code == 422
    _no_markup(refused.get_data(as_text=True))
    assert ESCAPED in refused.get_data(as_text=True)

    sent = client.post("/mailbox", data={"csrf_token": token, **fields,
                                         "photos": (io.BytesIO(photo_with_exif()), ATTACK + ".jpg")},
                       content_type="multipart/form-data")
    assert sent.status_code == 201
    case_no = text_of(sent.get_data(as_text=True)).split("案號 ")[1].split(" ")[0]
    case_id = int(case_no[-6:])

    admin = sign_in("admin")
    caseworker = sign_in("cw.roads")
    pages = {"case page": admin.get(f"/cases/{case_id}"), "case page (caseworker)": caseworker.get(f"/cases/{case_id}"),
             "inbox": caseworker.get("/inbox"), "search": admin.get("/cases", query_string={"text": "坑洞"}),
             "work item": caseworker.get(f"/work/{_draft_item(caseworker, case_no)}")}
    for name, page in pages.items():
        html = page.get_data(as_text=True)
        assert page.status_code == 200, name
        _no_markup(html)
    case_html = pages["case page"].get_data(as_text=True)
    assert case_html.count(ESCAPED) >= 3  # subject, description, the petitioner's name and address, the photo
    assert ESCAPED in pages["inbox"].get_data(as_text=True) and ESCAPED in pages["search"].get_data(as_text=True)

    with city.uow(read_only=True) as uow:
        row = uow.conn.execute(select(outbox).where(outbox.c.dedup_key == f"citizen:{case_id}:receipt")).one()
    mail = build_message(Delivery(row.id, row.topic, row.dedup_key, row.payload, 1), EmailSettings(host="localhost"))
    assert [part.get_content_type() for part in mail.walk()] == ["text/plain"]
    assert ("坑洞" + ATTACK) in mail.get_content()  # plain text: shown as typed, never as markup


def _draft_item(staff, case_no: str) -> str:
    html = staff.get("/inbox").get_data(as_text=True)
    row = html.split(case_no)[0]
    return row.rsplit('href="/work/', 1)[1].split('"')[0]
