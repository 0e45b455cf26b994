"""The ETL manifest: what went in, what came out, and the fingerprint that makes reruns no-ops.

`rows_in == rows_out + rows_filtered + rows_rejected` holds for the totals and for every
file, or the manifest is not written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict

import pyarrow.fs as pafs

from cluster.errors import PipelineError
from pipelines.csv_sources import InputPlan
from pipelines.etl_config import EtlSpec
from pipelines.flights_schema import SCHEMA_NAME, SCHEMA_VERSION, schema_description

MANIFEST = "_manifest.json"
VOCAB = "_vocab.json"
QUARANTINE = "_quarantine"
COUNTS = ("rows_in", "rows_out", "rows_filtered", "rows_rejected")
FEATURES_VERSION = 1


def fingerprint(plan: InputPlan, spec: EtlSpec) -> str:
    """A hash of every input file's path, size and modification time, plus the settings."""
    h = hashlib.sha256()
    h.update(json.dumps([SCHEMA_VERSION, FEATURES_VERSION, spec.to_json()], sort_keys=True).encode())
    for f in plan.files:
        h.update(json.dumps([f.path, f.size, f.mtime_ns]).encode())
    return "sha256:" + h.hexdigest()


def build_manifest(plan: InputPlan, spec: EtlSpec, chunk_stats: list[dict], *, engine: str,
                   dest: str, input_fingerprint: str, outputs: list[dict], timings: dict) -> dict:
    """Totals and per-file counts; PipelineError when they do not reconcile."""
    per_file = _per_file(plan, chunk_stats)
    totals = {k: sum(f[k] for f in per_file) for k in (*COUNTS, "rows_delayed")}
    written = sum(o["rows"] for o in outputs)
    if written != totals["rows_out"]:
        raise PipelineError(f"{dest}: wrote {written} rows but the chunks counted {totals['rows_out']}")
    for entry in [totals, *per_file]:
        _check_reconciles(entry, entry.get("path", "total"))
    seconds = timings.get("total", 0.0) - timings.get("connect", 0.0)  # the ETL's own time
    return {
        "schema": {"name": SCHEMA_NAME, "version": SCHEMA_VERSION}, "features_version": FEATURES_VERSION,
        "engine": engine, "source": plan.source, "dest": dest, "input_fingerprint": input_fingerprint,
        **totals, "bytes_in": plan.bytes_in, "seconds": round(seconds, 3),
        "mb_per_s": round(plan.bytes_in / 1e6 / seconds, 2) if seconds else None,
        "files": per_file, "outputs": outputs, "timings": {k: round(v, 3) for k, v in timings.items()},
        "settings": spec.to_json(), "schema_columns": schema_description()["columns"],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _per_file(plan: InputPlan, chunk_stats: list[dict]) -> list[dict]:
    sums: dict[int, dict] = defaultdict(lambda: dict.fromkeys((*COUNTS, "rows_delayed"), 0))
    seen: dict[int, int] = defaultdict(int)
    for s in chunk_stats:
        seen[s["file_index"]] += 1
        for k in (*COUNTS, "rows_delayed"):
            sums[s["file_index"]][k] += s[k]
    expected = defaultdict(int)
    for c in plan.chunks:
        expected[c.file_index] += 1
    if dict(seen) != dict(expected):
        raise PipelineError(f"chunk results missing or repeated: got {dict(seen)}, planned {dict(expected)}")
    return [{"path": f.path, "bytes": f.size, "status": f.status, **sums[i]}
            for i, f in enumerate(plan.files)]


def _check_reconciles(entry: dict, where: str) -> None:
    if entry["rows_in"] != entry["rows_out"] + entry["rows_filtered"] + entry["rows_rejected"]:
        counts = ", ".join(f"{k}={entry[k]}" for k in COUNTS)
        raise PipelineError(f"{where}: rows do not reconcile: {counts}")


def read_json(filesystem: pafs.FileSystem, path: str) -> dict | None:
    """A JSON file's content, or None when it is absent or unreadable."""
    try:
        with filesystem.open_input_stream(path) as f:
            return json.loads(f.read())
    except (FileNotFoundError, OSError, ValueError):
        return None


def write_json(filesystem: pafs.FileSystem, path: str, content: dict | str) -> None:
    """Write JSON to a temporary name, then move it into place, so readers never see half."""
    text = content if isinstance(content, str) else json.dumps(content, indent=1)
    tmp = f"{path}.tmp"
    with filesystem.open_output_stream(tmp) as f:
        f.write(text.encode())
    filesystem.move(tmp, path)
