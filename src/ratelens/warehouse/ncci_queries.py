"""Named SQL over the NCCI tables (``ncci_ptp``, ``ncci_mue``) and code look-ups for claim checks.

Parameters are bound, never formatted in. Run them with
:func:`ratelens.warehouse.medicare_queries.fetch_if`, which answers with no rows when a table
is not loaded. A file whose setting is unknown (null) is used for every setting.
"""

from __future__ import annotations

# Every PTP edit between two codes of the claim, for one setting; dates are applied per line.
PTP_PAIRS = """
SELECT * FROM ncci_ptp
WHERE column1 IN (SELECT unnest($codes)) AND column2 IN (SELECT unnest($codes))
  AND coalesce(setting, $setting) = $setting
ORDER BY column1, column2, effective_date DESC, file_id, locator
"""

PTP_LOADED = """
SELECT count(*) AS n FROM ncci_ptp WHERE coalesce(setting, $setting) = $setting
"""

# MUE rows of the claim's codes for one setting, newest table first (undated tables last).
MUE_ROWS = """
SELECT * FROM ncci_mue
WHERE hcpcs IN (SELECT unnest($codes)) AND setting = $setting
ORDER BY hcpcs, effective_date DESC NULLS LAST, file_id, locator
"""

MUE_LOADED = "SELECT count(*) AS n FROM ncci_mue WHERE setting = $setting"

OPPS_HAS_CODE = "SELECT hcpcs, file_id, locator FROM opps_addendum_b WHERE hcpcs = $code LIMIT 1"

LEVEL2_HAS_CODE = "SELECT hcpcs, file_id, locator FROM hcpcs_level2 WHERE hcpcs = $code LIMIT 1"

# The file names of file ids (the warehouse's "ledger" view), so findings can name files.
FILE_PATHS = "SELECT file_id, path FROM ledger WHERE file_id IN (SELECT unnest($ids))"

# Every PTP edit naming a code, in either column, newest first (for the code page).
CODE_PAIRS = """
SELECT * FROM ncci_ptp WHERE column1 = $code OR column2 = $code
ORDER BY setting, column1 = $code DESC, column1, column2, effective_date DESC
LIMIT $limit
"""

CODE_PAIR_COUNT = "SELECT count(*) AS n FROM ncci_ptp WHERE column1 = $code OR column2 = $code"

CODE_MUE = """
SELECT * FROM ncci_mue WHERE hcpcs = $code
ORDER BY setting, effective_date DESC NULLS LAST, file_id, locator
"""

NCCI_HAS_CODE = """
SELECT 1 FROM ncci_ptp WHERE column1 = $code OR column2 = $code LIMIT 1
"""

MUE_HAS_CODE = "SELECT 1 FROM ncci_mue WHERE hcpcs = $code LIMIT 1"
