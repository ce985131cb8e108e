"""TiC files as attackers and real payers write them (issues 14 and 15): locations a file
names, remote references that cannot be fetched, decimal ids, odd versions, absurd rates.

Hostile and odd files are made here, in the shapes real files take. A real HTTP server on
127.0.0.1 shows that a file may not make ratelens fetch from it, and that the user may
allow it."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ratelens.errors import FormatError, InputError, ValidationError
from ratelens.sources import ReadContext
from ratelens.sources import files as source_files
from ratelens.sources.tic import reader as tic

KIND = {s.kind: s for s in tic.SOURCES}
SECRET = "root:x:0:0:secret-token-1234:/root:/bin/bash\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/www``; yields its base URL."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_Quiet, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read(path: Path | str, kind: str = "tic_in_network", **kw: Any) -> tuple[dict, ReadContext]:
    ctx = ReadContext(path=str(path), file_id="f" * 64, **kw)
    tables: dict[str, list[dict]] = {}
    for table, batch in KIND[kind].read(ctx):
        assert isinstance(batch, pa.RecordBatch)
        tables.setdefault(table, []).extend(batch.to_pylist())
    return tables, ctx


def write(path: Path, obj: Any) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


# ---------------------------------------------------------------------------- locations


def toc(*locations: str) -> dict:
    return {
        "reporting_entity_name": "Payer",
        "reporting_entity_type": "health insurance issuer",
        "version": "1.0.0",
        "reporting_structure": [
            {
                "reporting_plans": [{"plan_name": "P", "plan_id": "1", "plan_id_type": "ein"}],
                "in_network_files": [{"description": "x", "location": x} for x in locations],
            }
        ],
    }


def in_network(n_prices: int = 1) -> dict:
    """A v2 in-network file with one item (77407) and one provider reference (id 1)."""
    prices = [
        {
            "negotiated_type": "negotiated",
            "negotiated_rate": 100.0 + k,
            "expiration_date": "9999-12-31",
            "billing_class": "professional",
            "setting": "outpatient",
            "service_code": ["11"],
        }
        for k in range(n_prices)
    ]
    return {
        "reporting_entity_name": "Payer",
        "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-01-01",
        "version": "2.0.0",
        "provider_references": [
            {
                "provider_group_id": 1,
                "network_name": ["N"],
                "provider_groups": [{"npi": [1234567890], "tin": {"type": "ein", "value": "1"}}],
            }
        ],
        "in_network": [
            {
                "negotiation_arrangement": "ffs",
                "name": "x",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2025",
                "billing_code": "77407",
                "description": "x",
                "negotiated_rates": [{"provider_references": [1], "negotiated_prices": prices}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("/etc/passwd", "a local path"),
        ("secret.txt", "a local path"),  # relative: next to the table of contents
        ("file:///etc/passwd", "a URL with scheme file://"),
        ("https://127.0.0.1:1/in-network.json", "not a public address"),
        ("https://localhost/in-network.json", "not a public address"),
        ("https://169.254.169.254/latest/meta-data/", "not a public address"),
        ("https://[::1]/x.json", "not a public address"),
        ("https://10.0.0.8/x.json", "not a public address"),
        ("http://example.invalid/in-network.json", "a plain http:// URL"),
        ("s3://bucket/in-network.json", "a URL with scheme s3://"),
    ],
)
def test_toc_may_not_name_local_files_or_internal_hosts(
    tmp_path: Path, location: str, reason: str
) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    path = write(tmp_path / "toc.json", toc("https://example.invalid/a.json", location))
    with pytest.raises(ValidationError) as info:
        KIND["tic_toc"].expand(ReadContext(path=str(path), file_id="t"))  # type: ignore[misc]
    err = info.value
    assert reason in str(err.found)
    assert "(reporting_structure[0].in_network_files[1].location)" in str(err.locator)
    assert "secret-token" not in str(err)
    # --lenient: the others are kept, the refused one is a warning
    ctx = ReadContext(path=str(path), file_id="t", is_lenient=True)
    assert KIND["tic_toc"].expand(ctx) == ["https://example.invalid/a.json"]  # type: ignore[misc]
    assert len(ctx.warnings) == 1 and reason in ctx.warnings[0]


def test_toc_locations_allowed_by_the_user_are_read(tmp_path: Path, server: str) -> None:
    www = tmp_path / "www"
    write(www / "in-network.json", in_network())
    url = f"{server}/in-network.json"
    path = write(tmp_path / "toc.json", toc(url, "in-network.json"))
    with pytest.raises(ValidationError, match="not a public address"):
        KIND["tic_toc"].expand(ReadContext(path=str(path), file_id="t"))  # type: ignore[misc]
    # plain http to a public host is not enough for a loopback address
    ctx = ReadContext(path=str(path), file_id="t", is_http_location_allowed=True)
    with pytest.raises(ValidationError, match="not a public address"):
        KIND["tic_toc"].expand(ctx)  # type: ignore[misc]
    ctx = ReadContext(path=str(path), file_id="t", is_local_location_allowed=True)
    listed = KIND["tic_toc"].expand(ctx)  # type: ignore[misc]
    assert listed == [url, str(tmp_path / "in-network.json")]  # relative: next to the TOC
    tables, _ = read(listed[0])  # the user's leave given, the URL is read
    assert [r["negotiated_rate"] for r in tables["rates"]] == [100.0]


# ---------------------------------------------------------------------------- remote references


def v1_remote(location: str, n_items: int = 2) -> dict:
    """A v1 file: reference 7 is remote (at ``location``), 8 is listed; item i has i+1
    prices on references [7] and one price on [8]."""
    doc = in_network()
    doc["version"] = "1.0.0"
    doc["provider_references"] = [
        {"provider_group_id": 7, "location": location},
        {
            "provider_group_id": 8,
            "provider_groups": [{"npi": [1], "tin": {"type": "ein", "value": "8"}}],
        },
    ]
    items = []
    for i in range(n_items):
        item = json.loads(json.dumps(doc["in_network"][0]))
        prices = item["negotiated_rates"][0]["negotiated_prices"]
        item["negotiated_rates"] = [
            {"provider_references": [7], "negotiated_prices": prices * (i + 1)},
            {"provider_references": [8], "negotiated_prices": prices},
        ]
        items.append(item)
    doc["in_network"] = items
    return doc


GROUPS = {
    "version": "1.0.0",
    "provider_groups": [{"npi": [1234567893], "tin": {"type": "ein", "value": "7"}}],
}


def test_remote_reference_on_loopback_needs_the_users_leave(tmp_path: Path, server: str) -> None:
    write(tmp_path / "www" / "groups.json", GROUPS)
    path = write(tmp_path / "v1.json", v1_remote(f"{server}/groups.json"))
    with pytest.raises(ValidationError) as info:
        read(path)
    assert "not a public address" in str(info.value.found)
    assert "(provider_references[0].location)" in str(info.value.locator)
    tables, ctx = read(path, is_local_location_allowed=True)
    seven = [g for g in tables["provider_groups"] if g["provider_group_id"] == "7"]
    assert [(g["tin_value"], g["n_npi"]) for g in seven] == [("7", 1)]
    assert not ctx.warnings


@pytest.mark.parametrize("failure", ["404", "refused", "dns"])
def test_remote_reference_not_fetched(tmp_path: Path, server: str, failure: str) -> None:
    url, cause = {
        "404": (f"{server}/missing.json", "HTTP status 404"),
        "refused": (f"http://127.0.0.1:{closed_port()}/groups.json", "connection refused"),
        "dns": ("http://no-such-host.invalid/groups.json", "host name not resolved"),
    }[failure]
    path = write(tmp_path / "v1.json", v1_remote(url))
    allowed = {"is_local_location_allowed": True}
    with pytest.raises(InputError) as info:
        read(path, **allowed)
    err = info.value
    assert err.path == url and err.found == cause  # the URL and the real cause
    assert "provider_references[0].location" in str(err)
    # --lenient: every rate loads; rates on reference 7 have no provider details
    tables, ctx = read(path, is_lenient=True, **allowed)
    rates = tables["rates"]
    assert len(rates) == (1 + 1) + (2 + 1)  # item 0: 1 price on [7], 1 on [8]; item 1: 2 + 1
    assert {g["provider_group_id"] for g in tables["provider_groups"]} == {"8"}
    assert ctx.meta["n_provider_files_not_read"] == "1"
    assert ctx.meta["n_rates_without_provider_details"] == "3"  # 1 + 2 prices on [7]
    assert len(ctx.warnings) == 1
    assert "1 provider reference file(s) not read, so 3 rate(s)" in ctx.warnings[0]
    assert cause in ctx.warnings[0]


def test_remote_reference_timeout_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_files, "NETWORK_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/groups.json"
        path = write(tmp_path / "v1.json", v1_remote(url, n_items=1))
        with pytest.raises(InputError) as info:
            read(path, is_local_location_allowed=True)
    assert info.value.path == url and "timed out" in str(info.value.found)


def test_remote_references_sharing_a_file_fetch_it_once(tmp_path: Path, server: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/groups.json"
    doc = v1_remote(url)
    doc["provider_references"].append({"provider_group_id": 9, "location": url})
    doc["in_network"][0]["negotiated_rates"][0]["provider_references"] = [7, 9]
    doc["in_network"][1]["negotiated_rates"][0]["provider_references"] = [9]
    path = write(tmp_path / "v1.json", doc)
    _, ctx = read(path, is_lenient=True, is_local_location_allowed=True)
    assert ctx.meta["n_provider_files_not_read"] == "1"
    assert ctx.meta["n_rates_without_provider_details"] == "3"  # a rate counts once


# ---------------------------------------------------------------------------- decimal ids


def test_v1_decimal_provider_group_ids_kept_as_written(tmp_path: Path) -> None:
    """The v1 schema types provider_group_id as "number": real files write 690.64462."""
    doc = v1_remote("unused")
    doc["provider_references"] = [
        {
            "provider_group_id": "__A__",
            "provider_groups": [{"npi": [1], "tin": {"type": "ein", "value": "a"}}],
        },
        {
            "provider_group_id": "__B__",
            "provider_groups": [{"npi": [2], "tin": {"type": "ein", "value": "b"}}],
        },
    ]
    doc["in_network"][0]["negotiated_rates"][0]["provider_references"] = ["__A__"]
    doc["in_network"][0]["negotiated_rates"][1]["provider_references"] = ["__A__", "__B__"]
    doc["in_network"] = doc["in_network"][:1]
    text = json.dumps(doc).replace('"__A__"', "690.64462").replace('"__B__"', "690.640")
    path = write(tmp_path / "v1.json", text)
    for codes in (None, frozenset({"77407"})):
        tables, ctx = read(path, codes=codes)
        refs = [r["provider_references"] for r in tables["rates"]]
        assert refs == [["690.64462"], ["690.64462", "690.640"]]
        groups = {(g["provider_group_id"], g["tin_value"]) for g in tables["provider_groups"]}
        assert groups == {("690.64462", "a"), ("690.640", "b")}
        assert not ctx.warnings
    # matched on the text: 690.64 is not 690.640
    path = write(
        tmp_path / "v1b.json",
        text.replace(
            '"provider_references": [690.64462, 690.640]', '"provider_references": [690.64]'
        ),
    )
    with pytest.raises(ValidationError) as info:
        read(path)
    assert info.value.found == "690.64"
    assert "a provider_group_id defined" in info.value.expected


# ---------------------------------------------------------------------------- versions


def test_unknown_version_loads_with_lenient_and_a_warning(tmp_path: Path) -> None:
    doc = in_network()
    doc["version"] = "0.0.1"
    path = write(tmp_path / "v.json", doc)
    with pytest.raises(FormatError) as info:
        read(path)
    assert info.value.found == '"0.0.1"' and "(version)" in str(info.value.locator)
    tables, ctx = read(path, is_lenient=True)
    assert [r["negotiated_rate"] for r in tables["rates"]] == [100.0]
    assert len(ctx.warnings) == 1 and '"0.0.1"' in ctx.warnings[0]
    assert "read with the v1 rules" in ctx.warnings[0]
    assert ctx.meta["version"] == "0.0.1"


# ---------------------------------------------------------------------------- absurd rates


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_non_finite_rate_is_refused_with_its_position(tmp_path: Path, literal: str) -> None:
    text = json.dumps(in_network()).replace(
        '"negotiated_rate": 100.0', f'"negotiated_rate": {literal}'
    )
    path = write(tmp_path / "inf.json", text)
    for codes in (None, frozenset({"77407"})):
        with pytest.raises(InputError) as info:
            read(path, codes=codes, is_lenient=True)
        at = int(str(info.value.locator).split()[1].replace(",", ""))
        assert text.index(literal) <= at <= text.index(literal) + 1  # orjson: after a sign


def test_string_non_finite_rate_is_refused(tmp_path: Path) -> None:
    doc = in_network()
    doc["in_network"][0]["negotiated_rates"][0]["negotiated_prices"][0]["negotiated_rate"] = "1e400"
    with pytest.raises(ValidationError) as info:
        read(write(tmp_path / "s.json", doc))
    assert info.value.found == '"1e400"'
    assert str(info.value.locator).endswith("negotiated_prices[0].negotiated_rate)")


@pytest.mark.parametrize("codes", [None, frozenset({"77407"})])
def test_implausible_rates_load_with_one_warning(tmp_path: Path, codes: Any) -> None:
    doc = in_network(n_prices=5)
    prices = doc["in_network"][0]["negotiated_rates"][0]["negotiated_prices"]
    for price, rate in zip(prices, [100.0, 1e26, -5.0, 10_000_000.0, 0.0], strict=True):
        price["negotiated_rate"] = rate
    tables, ctx = read(write(tmp_path / "odd.json", doc), codes=codes)
    assert [r["negotiated_rate"] for r in tables["rates"]] == [100.0, 1e26, -5.0, 1e7, 0.0]
    assert len(ctx.warnings) == 1
    warning = ctx.warnings[0]
    assert "3 negotiated_rate value(s) <= 0 or above 10,000,000 dollars" in warning
    assert "first at in_network[0].negotiated_rates[0].negotiated_prices[1]" in warning


def test_implausible_allowed_amounts_load_with_one_warning(tmp_path: Path) -> None:
    payments = [
        {"allowed_amount": amount, "providers": [{"billed_charge": 10.0, "npi": [1234567890]}]}
        for amount in (50.0, 2e7, 0.0, 75.5)
    ]
    doc = {
        "reporting_entity_name": "Payer",
        "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-01-01",
        "version": "1.0.0",
        "out_of_network": [
            {
                "name": "x",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2025",
                "billing_code": "77407",
                "description": "x",
                "allowed_amounts": [
                    {
                        "tin": {"type": "ein", "value": "1"},
                        "billing_class": "professional",
                        "service_code": ["11"],
                        "payments": payments,
                    }
                ],
            }
        ],
    }
    tables, ctx = read(write(tmp_path / "aa.json", doc), "tic_allowed_amounts")
    assert [r["allowed_amount"] for r in tables["allowed_amounts"]] == [50.0, 2e7, 0.0, 75.5]
    assert ctx.warnings == [
        f"{tmp_path / 'aa.json'}: 2 allowed_amount value(s) <= 0 or above 10,000,000 dollars, "
        "loaded (first at out_of_network[0].allowed_amounts[0].payments[1].providers[0])"
    ]
