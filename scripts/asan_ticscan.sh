#!/usr/bin/env bash
# Run the compiled TiC analysis (src/ratelens/sources/tic/_ticscan.c) under AddressSanitizer and
# UndefinedBehaviorSanitizer: its tests, the TiC reader's tests and random chunks on both SIMD
# paths. Needs gcc and an editable install (.venv, `pip install -e '.[test]'`); the normal build
# is put back at the end. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SO=$($PY -c "import ratelens.sources.tic._ticscan as m; print(m.__file__)")
WORK=$(mktemp -d)
cp "$SO" "$WORK/normal.so"
trap 'cp "$WORK/normal.so" "$SO"; rm -rf "$WORK"' EXIT
gcc -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -shared -fPIC \
    $($PY -c "import sysconfig; print('-I' + sysconfig.get_paths()['include'])") \
    src/ratelens/sources/tic/_ticscan.c -o "$SO"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
$PY -m pytest -q -p no:cacheprovider tests/sources/test_tic_scan_native.py tests/sources/test_tic.py
$PY - <<'PYEOF'
import os
import random

from ratelens.sources.tic import _ticscan

rng = random.Random(1)
alphabet = b'{}[]"\\ ,:77407CSTM-00\nab\\u'
for avx2 in (True, False):
    try:
        _ticscan.use_avx2(avx2)
    except RuntimeError:
        continue
    for i in range(20000):
        analyzer = _ticscan.Analyzer([b"77407", b"CSTM-00", b"x" * 63] if i % 2 else None)
        base = 0
        for _ in range(rng.randint(1, 4)):
            n = rng.choice([0, 1, 63, 64, 65, 128, 200, 4096])
            data = bytes(rng.choice(alphabet) for _ in range(n)) if n < 300 else os.urandom(n)
            analyzer.analyse(data, base)
            base += len(data)
print("random chunks: no sanitizer report")
PYEOF
