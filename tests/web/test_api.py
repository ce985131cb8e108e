"""/api/v1 over the bundled sample: what each route returns, and how it refuses bad input.

Expected figures come from the bundled files (see tests/test_end_to_end.py):
synthetic-payer-a-2025 lists 77407 institutional rates 316.25, 328.70, 355.89.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ratelens.benchmark.rates import rate_rows
from ratelens.benchmark.report import Filters, benchmark_code
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.reports.json_schema import validate_benchmark_json, validate_code_reference_json
from ratelens.sample import open_warehouse
from ratelens.web.app import create_app
from ratelens.web.models import ErrorBody

ERROR_REQUESTS = [
    ("/api/v1/benchmark/%3Cscript%3E", 404),
    ("/api/v1/codes/%3Cscript%3E", 404),
    ("/api/v1/benchmark/77407/rates?limit=1000000000", 422),
    ("/api/v1/benchmark/77407/rates?limit=0", 422),
    ("/api/v1/benchmark/77407/rates?cursor=not-a-cursor", 422),
    ("/api/v1/benchmark/77407?state=Texas", 422),
    ("/api/v1/benchmark/77407?setting=garage", 422),
    ("/api/v1/benchmark/77407?year=99999", 422),
    ("/api/v1/codes?q=", 422),
    ("/api/v1/codes/77407/medicare?zip=12", 422),
    ("/api/v1/codes/77407/medicare?year=1995", 404),
    ("/api/v1/no-such-route", 404),
]


def test_search_finds_a_code_and_words(client: TestClient) -> None:
    by_code = client.get("/api/v1/codes", params={"q": "77407"}).json()
    assert by_code["results"][0]["code"] == "77407"
    assert by_code["results"][0]["match"] == "code"
    by_words = client.get("/api/v1/codes", params={"q": "radiation delivery"}).json()
    assert by_words["n_results"] >= 5
    assert all(r["has_pack"] for r in by_words["results"])


def test_search_offers_a_code_without_a_pack(client: TestClient) -> None:
    first = client.get("/api/v1/codes", params={"q": "99213"}).json()["results"][0]
    assert first == {"code": "99213", "title": None, "summary": None, "family": None,
                     "match": "code", "has_pack": False}  # fmt: skip


def test_code_reference_is_the_library_document(client: TestClient) -> None:
    body = client.get("/api/v1/codes/77407").json()
    validate_code_reference_json(body)
    assert body["code"] == "77407" and body["has_pack"] is True


def test_benchmark_is_the_library_document(client: TestClient, sample_home: Path) -> None:
    params = {"year": 2025, "payer": "payer a", "billing_class": "institutional"}
    body = client.get("/api/v1/benchmark/77407", params=params).json()
    validate_benchmark_json(body)
    expected = benchmark_code(
        open_warehouse(sample_home), "77407", year=2025,
        filters=Filters(payer="payer a", billing_class="institutional"),
    ).to_json()  # fmt: skip
    body.pop("generated_at"), expected.pop("generated_at")
    assert body == expected
    (group,) = [p for p in body["payers"] if p["billing_code"] == "77407"]
    assert group["median"] == pytest.approx(328.70)
    assert body["filters"]["payer"] == "payer a"


def test_unknown_payer_is_a_404_naming_the_loaded_payers(client: TestClient) -> None:
    for url in ("/api/v1/benchmark/77407", "/api/v1/benchmark/77407/rates"):
        resp = client.get(url, params={"payer": "No Such Payer"})
        assert resp.status_code == 404
        body = resp.json()
        assert body["error"] == "DataNotAvailable"
        message = body["message"]
        assert "'No Such Payer'" in message and "Synthetic Sample Payer A" in message


def test_code_with_no_data_is_200_with_gaps(client: TestClient) -> None:
    body = client.get("/api/v1/benchmark/77014").json()  # in the PFS files, no rate loaded
    assert body["payers"] == [] and body["data_gaps"]


def test_code_no_loaded_set_knows_is_a_404(client: TestClient) -> None:
    response = client.get("/api/v1/benchmark/ZZ999")
    assert response.status_code == 404
    assert "not found in any loaded code set" in response.json()["message"]


@pytest.mark.parametrize(("url", "status"), ERROR_REQUESTS)
def test_errors_have_one_shape(client: TestClient, url: str, status: int) -> None:
    resp = client.get(url)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    ErrorBody.model_validate(body)
    assert set(body) <= {"error", "message", "path", "locator", "expected", "found", "detail"}
    assert body["error"] and body["message"]


def test_error_shape_is_the_library_error_shape() -> None:
    for exc in (DataNotAvailable("x: data not available"), UsageError("bad")):
        ErrorBody.model_validate(exc.to_dict())


def test_huge_page_size_says_what_is_allowed(client: TestClient) -> None:
    body = client.get("/api/v1/benchmark/77407/rates", params={"limit": 10**9}).json()
    assert "limit" in body["message"] and "1000" in body["message"]
    assert body["detail"][0]["parameter"] == "limit"


def test_rate_pages_walk_every_row_once_in_order(client: TestClient, sample_home: Path) -> None:
    expected = rate_rows(open_warehouse(sample_home), "77407").to_pylist()
    seen, cursor, n_pages = [], None, 0
    while n_pages < 50:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/benchmark/77407/rates", params=params).json()
        assert page["n_total"] == len(expected)
        seen += page["rows"]
        n_pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert n_pages == -(-len(expected) // 7)
    assert [(r["file_id"], r["locator"]) for r in seen] == [
        (r["file_id"], r["locator"]) for r in expected
    ]


def test_rate_rows_carry_their_source(client: TestClient) -> None:
    page = client.get("/api/v1/benchmark/77407/rates", params={"modifier": "global"}).json()
    assert page["rows"] and all(r["file_id"] and r["locator"] for r in page["rows"])
    assert page["filters"]["modifier"] == ""


def test_medicare_amounts(client: TestClient) -> None:
    body = client.get("/api/v1/codes/77407/medicare", params={"year": 2025}).json()
    (quote,) = body["quotes"]
    assert quote["code"] == "77407" and quote["locality"] == "national"
    assert quote["opps_payment"] == "262.98"
    params = {"year": 2025, "state": "ca"}
    by_state = client.get("/api/v1/codes/G6015/medicare", params=params).json()
    assert len(by_state["quotes"]) > 1
    assert all(q["locality_name"].startswith("CA ") for q in by_state["quotes"])
    not_in_2026 = client.get("/api/v1/codes/G6015/medicare")
    assert not_in_2026.status_code == 404 and "year=2025" in not_in_2026.json()["message"]


def test_sources_is_the_ledger(client: TestClient, sample_home: Path) -> None:
    body = client.get("/api/v1/sources").json()
    assert body["is_sample"] is True
    assert {f["file_id"] for f in body["files"]} == {
        e.file_id for e in open_warehouse(sample_home).entries()
    }


def test_api_key_is_required_when_set(sample_home: Path) -> None:
    with TestClient(create_app(sample_home, api_key="s3cret")) as c:
        missing = c.get("/api/v1/sources")
        assert missing.status_code == 401
        assert missing.json()["error"] == "Unauthorized"
        assert c.get("/api/v1/sources", headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.get("/api/v1/sources", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/").status_code == 401  # pages show the same data (test_security.py)


def test_api_key_comes_from_the_environment(
    sample_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATELENS_API_KEY", "from-env")
    with TestClient(create_app(sample_home)) as c:
        assert c.get("/api/v1/sources").status_code == 401
        assert c.get("/api/v1/sources", headers={"X-API-Key": "from-env"}).status_code == 200


def test_no_cors_by_default(client: TestClient) -> None:
    resp = client.get("/api/v1/sources", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in resp.headers
    pre = client.options(
        "/api/v1/sources",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in pre.headers


def test_payer_names_are_data_in_json(evil_home: Path, evil_payer: str) -> None:
    with TestClient(create_app(evil_home, api_key="")) as c:
        body = c.get("/api/v1/benchmark/77407", params={"year": 2025}).json()
    assert {p["payer"] for p in body["payers"]} == {evil_payer}


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["version"]
    paths = set(spec["paths"])
    assert paths == {
        "/api/v1/codes", "/api/v1/codes/{code}", "/api/v1/codes/{code}/medicare",
        "/api/v1/benchmark/{code}", "/api/v1/benchmark/{code}/rates", "/api/v1/sources",
    }  # fmt: skip
    assert "ErrorBody" in spec["components"]["schemas"]


def test_concurrent_requests_on_a_real_server(live_server: Any) -> None:
    """16 requests, 4 at a time, on uvicorn over a socket: same answers as one at a time."""
    urls = ["/api/v1/benchmark/77407?year=2025", "/api/v1/benchmark/77407/rates?limit=5",
            "/api/v1/codes/77407", "/api/v1/sources"] * 4  # fmt: skip

    def get(url: str) -> tuple[int, str]:
        resp = httpx.get(live_server.url + url, timeout=30)
        body = resp.json()
        body.pop("generated_at", None)
        return resp.status_code, str(body)

    alone = {url: get(url) for url in set(urls)}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        together = list(pool.map(get, urls))
    assert together == [alone[u] for u in urls]
