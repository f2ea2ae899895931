"""The report pages and downloads, and the staff API's reports, on the demo organisation.

The figures themselves are checked against a hand-built city in tests/reports; here: who sees
which page, that the downloads hold the figures the page and the API give, as numbers."""
import csv
import io
import re
import zipfile

import pytest

from engine.services.reports import catch_up_all

from .conftest import text_of


@pytest.fixture
def rolled_up(web, demo_runtime):
    catch_up_all(demo_runtime)
    return web


def test_the_reviewer_reads_the_agency_report_with_its_charts_and_no_inline_code(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    page = reviewer.get("/reports/agencies?period=2026-11")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    text = text_of(body)
    assert "工務局" in text and "全市合計" in text and "2026-11-01" in text
    assert 'href="/reports"' not in body and "/static/build/reports.js" in body
    assert 'class="chart" data-chart="' in body and "<script>" not in body and " style=" not in body
    assert re.search(r'href="/reports/agencies.csv\?period=2026-11"', body)
    assert "報表" in text_of(reviewer.get("/inbox").get_data(as_text=True))  # the menu offers them


def test_the_csv_holds_the_figures_of_the_api_as_numbers(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    figures = reviewer.get("/api/v1/reports/agencies?period=2026-11").get_json()
    download = reviewer.get("/reports/agencies.csv?period=2026-11")
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert 'filename="agencies-2026-11.csv"' in download.headers["Content-Disposition"]
    raw = download.get_data(as_text=True)
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:])))
    header, city = rows[0], rows[-1]
    assert header[:3] == ["機關", "單位", "收件"] and city[0] == "全市合計"
    assert int(city[2]) == figures["city"]["received"] > 0
    assert int(city[header.index("目前未結")]) == figures["city"]["open_now"]


def test_the_xlsx_has_number_cells_and_a_sheet_per_table(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    download = reviewer.get("/reports/hotspots.xlsx?period=2026-01..2026-11-30")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = zipfile.ZipFile(io.BytesIO(download.get_data()))
    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 3
    first = book.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<c r="B2"[^>]*><v>\d+</v></c>', first)  # received: a number, not text
    assert 'numFmtId' in book.read("xl/styles.xml").decode()  # months in the header are date cells
    agencies = reviewer.get("/api/v1/reports/agencies?period=2026-11&format=xlsx")
    assert agencies.status_code == 200 and agencies.get_data()[:2] == b"PK"


def test_an_agency_head_sees_the_own_agency_and_a_caseworker_no_report(rolled_up, sign_in):
    head = sign_in("head.works")
    figures = head.get("/api/v1/reports/agencies?period=2026-11").get_json()
    assert [a["agency_name"] for a in figures["agencies"]] == ["工務局"]
    caseworker = sign_in("cw.roads")
    assert caseworker.get("/reports/agencies").status_code == 403
    assert caseworker.get("/api/v1/reports/hotspots?period=2026").status_code == 403
    assert "報表" not in text_of(caseworker.get("/inbox").get_data(as_text=True))
    assert head.get("/api/v1/reports/calls?period=2026-11").status_code == 403  # 1999 is the commission's


def test_a_period_that_is_not_one_is_refused_naming_it(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    answer = reviewer.get("/api/v1/reports/agencies?period=2026-13")
    assert answer.status_code == 400 and "period" in answer.get_json()["errors"]["fields"]
    assert reviewer.get("/reports/agencies?period=someday").status_code == 400
    assert reviewer.get("/reports/agencies.pdf?period=2026-11").status_code == 404


def test_the_hot_spot_and_call_pages_print(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    for path in ("/reports/hotspots?period=2026", "/reports/calls?period=2026-11"):
        body = reviewer.get(path).get_data(as_text=True)
        assert "/static/reports.css" in body and "data-print" in body, path
    with rolled_up.test_client().get("/static/reports.css") as answer:
        assert "@media print" in answer.get_data(as_text=True)
    assert reviewer.get("/api/v1/reports/backlog").get_json() == {"pending": 0}


def test_the_council_page_and_its_downloads(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    page = reviewer.get("/reports/council")
    assert page.status_code == 200 and "議會案件" in text_of(page.get_data(as_text=True))
    assert reviewer.get("/reports/council.csv").status_code == 200
    figures = reviewer.get("/api/v1/reports/council?session=第3屆第2次定期會").get_json()
    assert figures["session"] == "第3屆第2次定期會" and figures["resolutions"] == []
    assert sign_in("cw.roads").get("/api/v1/reports/council").status_code == 403


def test_the_site_inspection_page_and_its_downloads(rolled_up, sign_in):
    reviewer = sign_in("reviewer")
    page = reviewer.get("/reports/site-inspections?year=2026")
    assert page.status_code == 200 and "會勘" in text_of(page.get_data(as_text=True))
    assert reviewer.get("/reports/site-inspections.xlsx?year=2026").get_data()[:2] == b"PK"
    assert reviewer.get("/reports/site-inspections?year=soon").status_code == 400
    assert reviewer.get("/api/v1/reports/site-inspections?year=2026").get_json()["pending"] == 0


def test_without_a_period_the_pages_show_last_month_and_the_twelve_months_before_this_one(rolled_up, sign_in):
    reviewer = sign_in("reviewer")  # the demo's clock: 2026-11-26
    assert 'value="2026-10"' in reviewer.get("/reports/agencies").get_data(as_text=True)
    assert 'value="2025-11..2026-10"' in reviewer.get("/reports/hotspots").get_data(as_text=True)
