"""The web app's guard: RATELENS_API_KEY on every route that serves warehouse data (pages and
downloads too), HEAD on GET routes, Allow on 405, and the security headers on every response.

The app is the real one over the bundled sample warehouse (tests/web/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ratelens.web.app import create_app

KEY = "s3cret-key"
DATA_ROUTES = [  # every kind of route that shows what the warehouse holds
    "/",
    "/?q=77407",
    "/codes/77407",
    "/benchmark/77407",
    "/benchmark/77407/download/csv",
    "/benchmark/77407/download/json",
    "/sources",
    "/docs/api",
    "/openapi.json",
    "/api/v1/codes?q=77407",
    "/api/v1/codes/77407",
    "/api/v1/benchmark/77407",
    "/api/v1/benchmark/77407/rates",
    "/api/v1/sources",
]
PAYER = "Synthetic Sample Payer A"  # a payer of the bundled sample: data, once served


@pytest.fixture(scope="module")
def guarded(sample_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(sample_home, api_key=KEY), raise_server_exceptions=False) as c:
        yield c


def test_the_sample_payer_is_served_with_the_key(guarded: TestClient) -> None:
    resp = guarded.get("/benchmark/77407/download/csv", headers={"X-API-Key": KEY})
    assert resp.status_code == 200 and PAYER in resp.text  # so the refusals below mean it


@pytest.mark.parametrize("path", DATA_ROUTES)
def test_every_data_route_refuses_without_the_key(guarded: TestClient, path: str) -> None:
    guarded.cookies.clear()
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY[:-1]}):
        resp = guarded.get(path, headers=headers)
        assert resp.status_code == 401, (path, headers)
        assert PAYER not in resp.text and "77407," not in resp.text
    if path.startswith(("/api/", "/openapi")):
        assert resp.json()["error"] == "Unauthorized"
        assert "X-API-Key" in resp.json()["message"]
    else:
        assert resp.headers["content-type"].startswith("text/html")
        assert "A key is needed" in resp.text and "?key=" in resp.text


@pytest.mark.parametrize("path", DATA_ROUTES)
def test_every_data_route_answers_with_the_key_header(guarded: TestClient, path: str) -> None:
    guarded.cookies.clear()
    assert guarded.get(path, headers={"X-API-Key": KEY}).status_code == 200, path


def test_static_assets_need_no_key(guarded: TestClient) -> None:
    guarded.cookies.clear()
    resp = guarded.get("/static/app.css")
    assert resp.status_code == 200 and "text/css" in resp.headers["content-type"]


def test_a_browser_gives_the_key_once_and_a_cookie_keeps_it(guarded: TestClient) -> None:
    guarded.cookies.clear()
    resp = guarded.get(f"/benchmark/77407?year=2025&key={KEY}", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/benchmark/77407?year=2025"  # the key leaves the URL
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert KEY not in cookie  # the cookie holds a token derived from the key, not the key
    for path in ("/benchmark/77407?year=2025", "/benchmark/77407/download/csv", "/sources"):
        assert guarded.get(path).status_code == 200, path
    assert guarded.get("/api/v1/codes?q=77407").status_code == 200  # the search box's fetch
    guarded.cookies.clear()
    assert guarded.get("/sources").status_code == 401


def test_a_wrong_key_in_the_address_sets_no_cookie(guarded: TestClient) -> None:
    guarded.cookies.clear()
    resp = guarded.get("/sources?key=wrong", follow_redirects=False)
    assert resp.status_code == 401 and "set-cookie" not in resp.headers


def test_a_forged_cookie_is_refused(guarded: TestClient) -> None:
    guarded.cookies.clear()
    guarded.cookies.set("ratelens_key", KEY)
    assert guarded.get("/sources").status_code == 401
    guarded.cookies.clear()


def test_without_a_key_configured_every_route_is_open(client: TestClient) -> None:
    assert client.get("/benchmark/77407/download/csv").status_code == 200
    assert client.get("/sources?key=anything", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/codes/77407", "/benchmark/77407/download/csv", "/api/v1/sources",
             "/static/app.css", "/openapi.json"],
)  # fmt: skip
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_missing_page_is_404(client: TestClient) -> None:
    resp = client.head("/no-such-page")
    assert resp.status_code == 404 and resp.content == b""


def test_head_needs_the_key_too(guarded: TestClient) -> None:
    guarded.cookies.clear()
    assert guarded.head("/benchmark/77407/download/csv").status_code == 401
    assert guarded.head("/sources", headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/v1/sources", "/benchmark/77407", "/"])
def test_other_methods_are_405_with_allow(client: TestClient, method: str, path: str) -> None:
    resp = client.request(method, path)
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["allow"].split(",")} == {"GET", "HEAD"}


RESPONSES = [  # (method, path, headers, status): one of each kind the app sends
    ("GET", "/", {}, 200),
    ("GET", "/benchmark/77407", {}, 200),
    ("GET", "/benchmark/77407/download/xlsx", {}, 200),
    ("GET", "/api/v1/sources", {}, 200),
    ("GET", "/static/sort.js", {}, 200),
    ("HEAD", "/codes/77407", {}, 200),
    ("GET", "/codes/NOPE!", {}, 404),
    ("GET", "/api/v1/benchmark/77407?state=Texas", {}, 422),
    ("POST", "/api/v1/sources", {}, 405),
]


@pytest.mark.parametrize(("method", "path", "headers", "status"), RESPONSES)
def test_security_headers_on_every_response(
    client: TestClient, method: str, path: str, headers: dict, status: int
) -> None:
    resp = client.request(method, path, headers=headers)
    assert resp.status_code == status
    assert_secure(resp.headers)


def test_security_headers_on_refusals(guarded: TestClient) -> None:
    guarded.cookies.clear()
    assert_secure(guarded.get("/sources").headers)
    assert_secure(guarded.get("/api/v1/sources").headers)
    assert_secure(guarded.get(f"/sources?key={KEY}", follow_redirects=False).headers)
    guarded.cookies.clear()


def assert_secure(headers) -> None:
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    directives = [d.split(" ", 1) for d in headers["content-security-policy"].split("; ")]
    csp = {d[0]: d[1] if len(d) > 1 else "" for d in directives}
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"  # no inline script, no other origin
    assert csp["style-src"] == "'self' 'unsafe-inline'"  # the pages' inline stylesheet
    assert csp["frame-ancestors"] == "'none'"
    sources = " ".join(csp.values())
    assert "http" not in sources and "*" not in sources  # nothing from elsewhere


# -- in a real browser (Chromium, as tests/web/test_browser.py; skipped where it is missing) --

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason=f"{CHROMIUM} is missing"
)


@needs_chromium
def test_pages_break_no_content_security_rule_and_the_key_works_in_a_browser(
    sample_home: Path,
) -> None:
    """Every page loads its styles, scripts and charts under the CSP (Chromium reports any
    refusal on the console); a key given once in the address lets the browser in."""
    from playwright.sync_api import sync_playwright

    from conftest import Server

    refused: list[str] = []
    with Server(create_app(sample_home, api_key=KEY)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page()
        page.on(
            "console",
            lambda msg: refused.append(msg.text) if "Content Security" in msg.text else None,
        )
        page.goto(server.url + "/sources")
        assert page.locator("h1").inner_text() == "A key is needed"
        page.goto(server.url + f"/codes/77407?key={KEY}")
        assert page.url == server.url + "/codes/77407"  # the key left the address
        for path in ("/", "/benchmark/77407", "/sources", "/docs/api"):
            response = page.goto(server.url + path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
        page.goto(server.url + "/")
        page.locator("input[type=search], input[name=q]").first.fill("77407")
        page.wait_for_selector("text=77407", timeout=15_000)  # search.js's fetch of /api/v1
        browser.close()
    assert refused == []
