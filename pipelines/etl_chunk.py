"""The ETL of one chunk, engine-independent and pure: parse, validate, filter, featurise, count.

Every engine and the streaming path share this logic, so counts and features agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.csv_chunk import ChunkRef, ParsedChunk, Reject, parse_chunk, raw_lines
from pipelines.etl_config import EtlSpec
from pipelines.features import LABEL, Vocabulary, add_features, has_label
from pipelines.validate import find_violations


@dataclass
class ChunkResult:
    """The featurised rows of a chunk, its rejected records, and its row counts."""

    table: pa.Table
    rejects: list[Reject]
    stats: dict


def process_chunk(data: bytes, chunk: ChunkRef, spec: EtlSpec, vocab: Vocabulary) -> ChunkResult:
    """Turn the bytes of `chunk` into featurised rows; every input record is counted once."""
    return finish_chunk(parse_chunk(data, chunk, spec.csv), data, chunk, spec, vocab)


def finish_chunk(parsed: ParsedChunk, data: bytes, chunk: ChunkRef, spec: EtlSpec,
                 vocab: Vocabulary) -> ChunkResult:
    """The rules, the label filter and the features on a parsed chunk, whichever reader parsed it."""
    return featurise_chunk(check_chunk(parsed, data, chunk, spec), vocab, spec)


def check_chunk(parsed: ParsedChunk, data: bytes, chunk: ChunkRef, spec: EtlSpec) -> ChunkResult:
    """The rules and the label filter: the labelled valid rows, every reject, and the counts so far
    (features and `rows_out` come with `featurise_chunk`, once the vocabularies are known)."""
    table, rejects = parsed.table, list(parsed.rejects)
    violations = find_violations(table)
    if violations:
        rows = [v.row for v in violations]
        lines = [int(parsed.row_lines[r]) for r in rows]
        raws = raw_lines(data, chunk, lines, spec.csv.encoding)
        rejects += [Reject(chunk.source, line, f"field '{v.field}': {v.reason}", v.field, v.value, raw)
                    for v, line, raw in zip(violations, lines, raws, strict=True)]
        keep = np.ones(table.num_rows, dtype=bool)
        keep[rows] = False
        table = table.filter(pa.array(keep))
        rejects.sort(key=lambda r: r.line)
    labelled = table.filter(has_label(table))
    stats = {
        "source": chunk.source, "file_index": chunk.file_index, "chunk_index": chunk.chunk_index,
        "bytes": len(data), "rows_in": parsed.rows_in, "rows_filtered": table.num_rows - labelled.num_rows,
        "rows_rejected": len(rejects),
    }
    return ChunkResult(labelled, rejects, stats)


def featurise_chunk(checked: ChunkResult, vocab: Vocabulary, spec: EtlSpec) -> ChunkResult:
    """The features of a checked chunk, and its last counts."""
    out = add_features(checked.table, vocab, spec.features)
    stats = {**checked.stats, "rows_out": out.num_rows,
             "rows_delayed": int(pc.sum(out.column(LABEL)).as_py() or 0)}
    return ChunkResult(out, checked.rejects, stats)
