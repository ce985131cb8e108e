"""Fixtures of the web tests: the bundled sample warehouse, a warehouse holding a payer
whose name is HTML, the app over each, and a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ratelens.sample import sample_warehouse
from ratelens.sources import ReadContext, Source
from ratelens.sources.rates import rate_batch
from ratelens.warehouse.store import Warehouse, stage_file
from ratelens.web.app import create_app

EVIL_PAYER = "<script>alert('payer')</script> & <b>Co</b>"


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("web-sample")
    sample_warehouse(home)
    return home


@pytest.fixture(scope="session")
def app(sample_home: Path) -> FastAPI:
    return create_app(sample_home, api_key="")


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _evil_rows(ctx: ReadContext):
    row = {
        "source_kind": "tic", "file_id": ctx.file_id, "payer": EVIL_PAYER,
        "payer_raw": EVIL_PAYER, "billing_code": "77407", "billing_code_type": "CPT",
        "negotiated_type": "negotiated", "billing_class": "professional",
        "setting": "outpatient", "last_updated_on": "2025-01-01", "state": "TX",
    }  # fmt: skip
    rows = [{**row, "negotiated_rate": r, "locator": f"in_network[0].rates[{i}]"}
            for i, r in enumerate((100.0, 120.0, 140.0))]  # fmt: skip
    yield "rates", rate_batch(rows)


@pytest.fixture(scope="session")
def evil_payer() -> str:
    return EVIL_PAYER


@pytest.fixture(scope="session")
def evil_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with one payer whose name (as a file could write it) is HTML."""
    home = tmp_path_factory.mktemp("web-evil")
    wh = Warehouse(home)
    reader = Source("test_rates", "rates written by the web tests", lambda h, n: False, _evil_rows)
    path = str(home / "evil-in-network.json")
    file_id = hashlib.sha256(b"evil").hexdigest()
    ctx = ReadContext(path, file_id, meta={"publisher": EVIL_PAYER})
    wh.commit(stage_file(home, path, file_id, 4, reader, ctx))
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving an app on 127.0.0.1 in a thread, for clients that need a real socket."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/openapi.json", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("uvicorn did not start within 20 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app: FastAPI) -> Iterator[Server]:
    with Server(app) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (the browser tests skip without it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        yield b
        b.close()
