"""Baseline for `rayline bench etl`: the same ETL by plain pyarrow in one process.

    python -m benchmarks.pyarrow_baseline SOURCE_DIR DEST_DIR

Reads every CSV with the same typed schema and null markers (pyarrow's own threads), holds
them in memory to build the vocabularies, then applies the same rules, filter and features
(the shared pure functions) and writes one Parquet file per input. No Ray.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.etl_config import EtlSpec
from pipelines.features import LABEL, add_features, build_vocabulary, distinct_categories, has_label
from pipelines.flights_schema import COLUMN_NAMES, COLUMNS_BY_NAME
from pipelines.validate import find_violations


def run_baseline(source_dir: str, dest_dir: str, spec: EtlSpec | None = None) -> dict:
    """Run the baseline ETL; returns its counts and seconds."""
    spec = spec or EtlSpec()
    started = time.perf_counter()
    files = sorted(glob.glob(os.path.join(source_dir, "*.csv")))
    convert = pa_csv.ConvertOptions(column_types={n: COLUMNS_BY_NAME[n].type for n in COLUMN_NAMES},
                                    null_values=list(spec.csv.null_values), strings_can_be_null=True)
    tables = [pa_csv.read_csv(f, convert_options=convert).select(list(COLUMN_NAMES)) for f in files]
    values: dict[str, set[str]] = {}
    for table in tables:
        for name, found in distinct_categories(table).items():
            values.setdefault(name, set()).update(found)
    vocab = build_vocabulary(values)
    os.makedirs(dest_dir, exist_ok=True)
    counts = {"rows_in": 0, "rows_out": 0, "rows_rejected": 0, "rows_delayed": 0}
    for index, table in enumerate(tables):
        bad = {v.row for v in find_violations(table)}
        if bad:
            table = table.filter(pa.array([i not in bad for i in range(table.num_rows)]))
        out = add_features(table.filter(has_label(table)), vocab, spec.features)
        pq.write_table(out, os.path.join(dest_dir, f"part-{index:05d}.parquet"))
        counts["rows_in"] += table.num_rows + len(bad)
        counts["rows_out"] += out.num_rows
        counts["rows_rejected"] += len(bad)
        counts["rows_delayed"] += out.column(LABEL).to_numpy(zero_copy_only=False).sum()
        tables[index] = None  # let the memory go as the baseline would
    counts = {k: int(v) for k, v in counts.items()}
    return {**counts, "files": len(files), "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    print(json.dumps(run_baseline(sys.argv[1], sys.argv[2])))
