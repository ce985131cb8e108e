#!/usr/bin/env bash
# Run the compiled TiC modules (src/ratelens/sources/tic/_ticscan.c, the structure analysis, and
# _ticitems.c, the item parser) under AddressSanitizer and UndefinedBehaviorSanitizer: their
# tests, the TiC reader's tests, random chunks on both SIMD paths and random item bytes. Needs
# gcc and an editable install (.venv, `pip install -e '.[test]'`); the normal builds are put
# back at the end. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'for m in _ticscan _ticitems; do cp "$WORK/$m.so" "$(cat "$WORK/$m.path")"; done; rm -rf "$WORK"' EXIT
for m in _ticscan _ticitems; do
  SO=$($PY -c "import ratelens.sources.tic.$m as m; print(m.__file__)")
  echo "$SO" > "$WORK/$m.path"
  cp "$SO" "$WORK/$m.so"
  gcc -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -shared -fPIC \
      $($PY -c "import sysconfig; print('-I' + sysconfig.get_paths()['include'])") \
      "src/ratelens/sources/tic/$m.c" -o "$SO"
done
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
$PY -m pytest -q -p no:cacheprovider tests/sources/test_tic_scan_native.py tests/sources/test_tic.py \
    tests/sources/test_tic_items_compiled.py
$PY - <<'PYEOF'
import os
import random

from ratelens.sources.tic import _ticscan

rng = random.Random(1)
alphabet = b'{}[]"\\ ,:77407CSTM-00\nab\\u'
pieces = [bytes([c]) for c in alphabet] + [b'"provider_group_id"', b"123", b"1" * 20, b"-0.5"]
for avx2 in (True, False):
    try:
        _ticscan.use_avx2(avx2)
    except RuntimeError:
        continue
    for i in range(20000):
        needles = [b"77407", b"CSTM-00", b"x" * 63] if i % 2 else None
        analyzer = _ticscan.Analyzer(needles, ids=i % 3 == 0)  # ids: provider_group_id read
        base = 0
        for _ in range(rng.randint(1, 4)):
            n = rng.choice([0, 1, 63, 64, 65, 128, 200, 4096])
            text = b"".join(rng.choice(pieces) for _ in range(n))[:n]
            data = text if n < 300 else os.urandom(n)
            analyzer.analyse(data, base)
            base += len(data)
print("random chunks: no sanitizer report")
PYEOF
$PY - <<'PYEOF'
import random

import numpy as np

from ratelens.sources.tic import _ticitems

rng = random.Random(2)
item = (
    b'{"negotiation_arrangement":"ffs","name":"n","billing_code_type":"CPT",'
    b'"billing_code_type_version":"2024","billing_code":"77407","description":"d\\u00e9",'
    b'"bundled_codes":[{"billing_code_type":"CPT","billing_code":"1"}],"negotiated_rates":'
    b'[{"provider_references":[1,22],"negotiated_prices":[{"negotiated_type":"negotiated",'
    b'"negotiated_rate":12.5e0,"expiration_date":"9999-12-31","billing_class":"professional",'
    b'"setting":"outpatient","service_code":["11","22"]}]}]}'
)
alphabet = b'{}[]",:\\u0123456789eE.-+ ntrfalsu\xc3\xa9\xff\x01'
n_taken = 0
for i in range(30000):
    data = bytearray(item)
    for _ in range(rng.randint(0, 4)):  # edits: replace, insert or delete a few bytes
        at = rng.randrange(len(data))
        new = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        data[at : at + rng.randint(0, 3)] = new
    data = bytes(data)
    codes = [b"77407", b"CSTM-00"] if i % 2 else None
    done = _ticitems.parse_items([(data, 0, np.array([5]), np.array([5 + len(data) - 1]))], codes, i % 3 > 0)
    n_taken += isinstance(done, tuple)
print(f"random items: no sanitizer report ({n_taken} of 30000 taken)")
PYEOF
