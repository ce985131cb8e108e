"""The web app takes the codes the CLI takes: one normalisation (ratelens.codes) for both."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ratelens.codes import normalize_code


@pytest.mark.parametrize("code", ["00002-1433-80", "81.54", "CSTM-00", "g6008"])
def test_a_code_the_cli_accepts_is_not_refused_by_the_api(client: TestClient, code: str) -> None:
    normalize_code(code)  # the CLI accepts it
    response = client.get(f"/api/v1/benchmark/{code}/rates")
    assert response.status_code == 200, response.text
    assert response.json()["code"] == normalize_code(code)


@pytest.mark.parametrize("code", ["<script>", "77 407", "-77407", "7" * 21])
def test_what_the_cli_refuses_is_a_404_in_the_api(client: TestClient, code: str) -> None:
    response = client.get(f"/api/v1/benchmark/{code}/rates")
    assert response.status_code == 404
    assert "is not a billing code" in response.text
