"""Pages a person reads: no server file paths, counts in words by number."""

from __future__ import annotations

from importlib import resources

import pytest
from fastapi.testclient import TestClient

PACKAGE_DIR = str(resources.files("ratelens"))


@pytest.mark.parametrize("path", ["/benchmark/77407", "/codes/77407", "/codes/G6008",
                                  "/sources", "/benchmark/77407/download/csv"])
def test_no_server_path_on_a_page(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert PACKAGE_DIR not in response.text and "site-packages" not in response.text


def test_bundled_files_are_named_by_their_place_in_the_package(client: TestClient) -> None:
    page = client.get("/benchmark/77407").text
    assert "bundled sample: ratelens/data/cms/" in page


def test_counts_agree_with_their_nouns(client: TestClient) -> None:
    page = client.get("/benchmark/77407").text
    for wrong in ("(s)", "1 negotiated dollar rates", "1 rates", "1 payers"):
        assert wrong not in page, wrong


def test_code_pages_lead_somewhere(client: TestClient) -> None:
    """Related codes link their pages, the packs' citations their URLs, the benchmark its
    codes; a report rendered to a file links nothing (it is read offline)."""
    code_page = client.get("/codes/77407").text
    assert '<a href="/codes/77412">77412</a>' in code_page
    assert '<a href="https://www.cms.gov/' in code_page
    assert '<a href="/codes/77407">77407</a>' in client.get("/benchmark/77407").text
    download = client.get("/benchmark/77407/download/json")
    assert download.status_code == 200
