"""Attachments through the API: multipart upload, the list, a record, the download and its headers, and refusals."""
from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest

from api.app import create_app
from engine.bootstrap import bootstrap
from engine.services.attachments import MAX_PER_CASE, AddAttachment, add_attachment
from tests.api.conftest import Caller
from tests.unit import attachment_samples as samples
from tests.unit.queries_city import taipei

KINDS = [
    ("pothole.jpg", samples.JPEG, "image/jpeg"), ("map.png", samples.PNG, "image/png"),
    ("sign.gif", samples.GIF, "image/gif"), ("photo.webp", samples.WEBP, "image/webp"),
    ("IMG_0001.HEIC", samples.HEIC, "image/heic"), ("reply.pdf", samples.PDF, "application/pdf"),
    ("note.txt", samples.TEXT, "text/plain; charset=utf-8"),
    ("letter.docx", samples.DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("costs.xlsx", samples.XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("slides.pptx", samples.PPTX, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("minutes.odt", samples.ODT, "application/vnd.oasis.opendocument.text"),
]


#: The boundary of the multipart bodies the tests send.
BOUNDARY = "petiflow-test-boundary"


def upload(caller, case_id, content, filename="photo.jpg", content_type="application/octet-stream"):
    # The body is built here, in memory: the test client spools a large one to a file it never closes.
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{quote(filename)}"; '
            f"filename*=UTF-8''{quote(filename)}\r\nContent-Type: {content_type}\r\n\r\n")
    body = head.encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()
    return caller.post(f"/api/v1/cases/{case_id}/attachments", data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")


def download(caller, attachment_id, **kw):
    """The download's status, headers and bytes (the file it was sent from closed)."""
    answer = caller.get(f"/api/v1/attachments/{attachment_id}/content", **kw)
    try:
        return answer.status_code, answer.headers, answer.get_data()
    finally:
        answer.close()


def stored(api) -> list:
    root = api.runtime.attachments.root
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def case(api):
    return api.open_case(taipei(26))


@pytest.mark.parametrize(("filename", "content", "media_type"), KINDS, ids=[k[0] for k in KINDS])
def test_each_accepted_kind_is_uploaded_with_the_type_its_content_shows(api, case, filename, content, media_type):
    answer = upload(api.as_("cw.roads"), case.case_id, content, filename, content_type="text/html")
    assert answer.status_code == 201
    body = answer.get_json()
    assert (body["filename"], body["media_type"], body["size"], body["uploaded_by"]) == (
        filename, media_type, len(content), "cw.roads")
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert answer.headers["Location"] == f"/api/v1/attachments/{body['attachment_id']}"


def test_html_named_jpg_and_an_svg_are_refused_naming_what_they_are(api, case):
    caller = api.as_("cw.roads")
    html = upload(caller, case.case_id, samples.HTML, "photo.jpg", content_type="image/jpeg")
    svg = upload(caller, case.case_id, samples.SVG, "map.svg", content_type="image/svg+xml")
    assert (html.status_code, svg.status_code) == (400, 400)
    assert html.get_json()["error"] == "invalid_input" and "(HTML document)" in html.get_json()["message"]
    assert html.get_json()["errors"] == {"fields": {"file": ["HTML document is not accepted"]}}
    assert "(SVG image)" in svg.get_json()["message"]
    assert caller.get(f"/api/v1/cases/{case.case_id}/attachments").get_json() == [] and stored(api) == []


def test_a_request_without_a_file_is_refused_naming_the_field(api, case):
    answer = api.as_("cw.roads").post(f"/api/v1/cases/{case.case_id}/attachments", data={"other": "x"},
                                      content_type="multipart/form-data")
    assert answer.status_code == 422 and set(answer.get_json()["errors"]["files"]) == {"file"}


def test_a_file_or_a_body_past_the_limit_is_a_413_in_the_one_error_shape(api, case):
    small = create_app(runtime=bootstrap(api.runtime.settings.but(max_attachment_mb=1), clock=api.clock,
                                         db=api.runtime.db))
    caller = Caller(small.test_client(), api.token("cw.roads"))
    a_little_over = upload(caller, case.case_id, b"a" * (2**20 + 1), "long.txt")
    far_over = upload(caller, case.case_id, b"a" * (2 * 2**20), "longer.txt")
    assert (a_little_over.status_code, far_over.status_code) == (413, 413)
    assert a_little_over.get_json()["error"] == "too_large" and "1 MiB" in a_little_over.get_json()["message"]
    assert set(far_over.get_json()) == {"code", "status", "error", "message", "errors"}
    assert (far_over.get_json()["error"], far_over.get_json()["message"]) == (
        "too_large", "the request is larger than petiflow accepts: an attachment may be at most 1 MiB")
    assert stored(api) == []
    assert upload(caller, case.case_id, b"a" * 2**20, "exactly.txt").status_code == 201


def test_a_case_with_fifty_attachments_or_a_closed_case_takes_no_more(api, case):
    with api.runtime.uow() as uow:
        for n in range(MAX_PER_CASE):
            add_attachment(AddAttachment(api.principal("cw.roads"), case.case_id, f"{n}.txt",
                                         io.BytesIO(f"note {n}".encode())), uow)
        uow.commit()
    full = upload(api.as_("cw.roads"), case.case_id, samples.PNG, "one-more.png")
    assert full.status_code == 409 and f"has {MAX_PER_CASE} attachments" in full.get_json()["message"]
    closed = api.open_case(taipei(26, 10))
    api.complete(closed.work_item_ids[0], "cw.roads")
    refused = upload(api.as_("cw.roads"), closed.case_id, samples.PNG, "late.png")
    assert refused.status_code == 409 and refused.get_json()["message"] == (
        f"case {closed.case_no} is closed; it takes no new attachments")


def test_another_agency_s_case_and_its_attachments_are_not_found_exactly_like_missing_ones(api, case):
    added = upload(api.as_("cw.roads"), case.case_id, samples.PDF, "reply.pdf").get_json()
    other = api.as_("cw.signals")
    for theirs, missing in [
        (upload(other, case.case_id, samples.PDF), upload(other, 999999, samples.PDF)),
        (other.get(f"/api/v1/cases/{case.case_id}/attachments"), other.get("/api/v1/cases/999999/attachments")),
        (other.get(f"/api/v1/attachments/{added['attachment_id']}"), other.get("/api/v1/attachments/999999")),
    ]:
        assert theirs.status_code == missing.status_code == 404
        assert theirs.get_json()["error"] == missing.get_json()["error"] == "not_found"
    assert download(other, added["attachment_id"])[0] == 404
    assert upload(api.as_(None), case.case_id, samples.PDF).status_code == 401


def test_the_download_is_an_attachment_of_the_sniffed_type_sandboxed_and_tagged_with_its_sha256(api, case):
    caller = api.as_("chief.roads")
    added = upload(api.as_("cw.roads"), case.case_id, samples.PNG, "路燈 \"現場\".png", content_type="text/html")
    record = added.get_json()
    status, headers, content = download(caller, record["attachment_id"])
    assert (status, content, headers["Content-Type"]) == (200, samples.PNG, "image/png")
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"__ ____.png\"; filename*=UTF-8''%E8%B7%AF%E7%87%88%20%22%E7%8F%BE%E5%A0%B4%22.png")
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
    assert headers["ETag"] == f'"{hashlib.sha256(samples.PNG).hexdigest()}"'
    assert download(caller, record["attachment_id"], headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert caller.get(f"/api/v1/attachments/{record['attachment_id']}").get_json() == record


def test_the_same_file_on_two_cases_is_kept_once_and_each_case_lists_its_own(api, case):
    second = api.open_case(taipei(26, 10))
    caller = api.as_("cw.roads")
    first_copy = upload(caller, case.case_id, samples.JPEG, "a.jpg").get_json()
    upload(caller, case.case_id, samples.TEXT, "b.txt")
    second_copy = upload(caller, second.case_id, samples.JPEG, "c.jpg").get_json()
    assert stored(api) == sorted([first_copy["sha256"], hashlib.sha256(samples.TEXT).hexdigest()])
    assert second_copy["sha256"] == first_copy["sha256"]
    listed = caller.get(f"/api/v1/cases/{case.case_id}/attachments").get_json()
    assert [a["filename"] for a in listed] == ["a.jpg", "b.txt"]
    timeline = caller.get(f"/api/v1/cases/{case.case_id}").get_json()["timeline"]
    assert [e["data"]["filename"] for e in timeline if e["kind"] == "attachment_added"] == ["a.jpg", "b.txt"]


def test_a_file_missing_from_the_attachments_folder_is_a_503_saying_so(api, case):
    record = upload(api.as_("cw.roads"), case.case_id, samples.PDF, "reply.pdf").get_json()
    api.runtime.attachments.path_of(record["sha256"]).unlink()  # a folder not restored with the database
    status, headers, content = download(api.as_("cw.roads"), record["attachment_id"])
    assert status == 503 and b"missing from the attachments folder" in content
