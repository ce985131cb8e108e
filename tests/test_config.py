"""The settings table (ratelens.config): each setting changes what ratelens does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ratelens
from data_paths import TEST_DATA

BUNDLED = Path(ratelens.__file__).parent / "data"
SAMPLES = {  # kind -> a real file of that kind: one reader of each family
    "pfs_gpci": BUNDLED / "cms" / "GPCI2025.csv",  # 109 localities
    # v1: rows made one by one (a v2 file's items go through the compiled scanner, whose
    # batches hold what one read of items gave: see docs/settings.md)
    "tic_in_network": TEST_DATA
    / "tic/examples/v1.6.2/in-network-rates/in-network-rates-multiple-plans-sample.json",
    "hospital_csv_tall": BUNDLED / "hospital" / "V3.0.0_Tall_CSV_Format_Example.csv",
}
SIZES = """
import json, sys
from ratelens.sources import ReadContext, registry
from ratelens.sources.files import sha256_file
out = {}
for kind, path in json.loads(sys.argv[1]).items():
    ctx = ReadContext(path, sha256_file(path)[0])
    # provider_npis rows go with their group's batch (one group, many NPIs)
    out[kind] = [b.num_rows for t, b in registry.source(kind).read(ctx) if t != "provider_npis"]
print(json.dumps(out))
"""


def batch_sizes(batch_rows: str | None) -> dict[str, list[int]]:
    env = {k: v for k, v in os.environ.items() if k != "RATELENS_BATCH_ROWS"}
    if batch_rows is not None:
        env["RATELENS_BATCH_ROWS"] = batch_rows
    args = [sys.executable, "-c", SIZES, json.dumps({k: str(p) for k, p in SAMPLES.items()})]
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def test_batch_rows_sets_the_batch_size_of_every_reader_family() -> None:
    default, small = batch_sizes(None), batch_sizes("3")
    assert default["pfs_gpci"] == [109]  # one batch under the default 50,000
    assert small["pfs_gpci"] == [3] * 36 + [1]
    for kind in SAMPLES:
        assert sum(small[kind]) == sum(default[kind]) > 3, kind
        assert max(small[kind]) == 3 and len(small[kind]) > len(default[kind]), kind


def test_a_bad_batch_rows_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "RATELENS_BATCH_ROWS": "lots", "RATELENS_HOME": str(tmp_path)}
    args = [sys.executable, "-m", "ratelens", "ingest", str(SAMPLES["pfs_gpci"])]
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr
    assert "RATELENS_BATCH_ROWS" in done.stderr and "'lots'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_home_default_is_made_only_when_ratelens_home_is_unset(tmp_path: Path) -> None:
    """The platform's data folder (platformdirs, ~5 ms to import at every command's start)
    is looked up only when RATELENS_HOME does not name the home."""
    code = (
        "import sys\n"
        "from ratelens import config\n"
        "home = config.home()\n"
        "print('platformdirs' in sys.modules, home)\n"
        "print(config.SETTINGS[0].default)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RATELENS_HOME"}
    given = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**env, "RATELENS_HOME": str(tmp_path)}, check=True)  # fmt: skip
    lines = given.stdout.splitlines()
    assert lines[0] == f"False {tmp_path}"
    unset = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True)  # fmt: skip
    from platformdirs import user_data_dir

    assert unset.stdout.splitlines() == [f"True {user_data_dir('ratelens')}", lines[1]]
    assert lines[1] == user_data_dir("ratelens")
