"""The HTML pages over the bundled sample: content, filters, downloads, escaping."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient

from ratelens.web.app import create_app


def test_search_page_renders_results_without_javascript(client: TestClient) -> None:
    html = client.get("/", params={"q": "radiation"}).text
    assert 'href="/codes/77407"' in html and 'src="/static/search.js"' in html
    assert "https://" not in html.split("<body", 1)[1]  # no CDN, no remote asset


def test_static_assets_are_served(client: TestClient) -> None:
    for path in ("/static/search.js", "/static/app.css"):
        assert client.get(path).status_code == 200


def test_code_page_is_the_reference_document(client: TestClient) -> None:
    resp = client.get("/codes/77407")
    assert resp.status_code == 200
    assert "<h1>CPT 77407 code reference, 2026</h1>" in resp.text
    assert 'href="/benchmark/77407?year=2026"' in resp.text


def test_benchmark_page_applies_filters_and_links_downloads(client: TestClient) -> None:
    html = client.get(
        "/benchmark/77407",
        params={"year": "2025", "payer": "payer a", "setting": "", "modifier": ""},
    ).text
    assert "Filters: payer = payer a" in html
    assert "Synthetic Sample Payer A" in html and "Synthetic Sample Payer B" not in html
    assert "/benchmark/77407/download/csv?year=2025&amp;payer=payer+a" in html
    assert "<svg" in html  # the renderers' charts


def test_csv_download_is_what_the_page_shows(client: TestClient) -> None:
    params = {"year": "2025", "payer": "payer a"}
    resp = client.get("/benchmark/77407/download/csv", params=params)
    assert resp.status_code == 200
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows and {r["payer"] for r in rows} == {"Synthetic Sample Payer A"}
    report = json.loads(client.get("/benchmark/77407/download/json", params=params).text)
    assert report["filters"]["payer"] == "payer a" and report["year"] == 2025


def test_other_downloads(client: TestClient) -> None:
    xlsx = client.get("/benchmark/77407/download/xlsx", params={"year": "2025"})
    assert xlsx.content[:2] == b"PK"
    pdf = client.get("/benchmark/77407/download/pdf", params={"year": "2025"})
    assert pdf.content[:5] == b"%PDF-" and pdf.headers["content-type"] == "application/pdf"
    assert client.get("/benchmark/77407/download/exe").status_code == 422


def test_sources_page_lists_the_ledger(client: TestClient) -> None:
    html = client.get("/sources").text
    assert "PPRRVU2025_Oct.subset.csv" in html and "loaded" in html


def test_bad_input_on_pages_is_an_html_error(client: TestClient) -> None:
    resp = client.get("/codes/%3Cscript%3Ealert(1)")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)" not in resp.text and "&lt;script&gt;" in resp.text
    assert client.get("/benchmark/77407", params={"state": "Texas"}).status_code == 422
    assert client.get("/no/such/page").status_code == 404


def test_payer_names_are_escaped(evil_home: Path, evil_payer: str) -> None:
    with TestClient(create_app(evil_home, api_key="")) as c:
        html = c.get("/benchmark/77407", params={"year": "2025"}).text
    assert evil_payer not in html and "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#39;payer&#39;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in html


def test_api_reference_page_draws_the_spec(client: TestClient) -> None:
    html = client.get("/docs/api").text
    assert "GET /api/v1/benchmark/{code}/rates" in html and "next_cursor" in html
    assert "cdn" not in html.lower()
