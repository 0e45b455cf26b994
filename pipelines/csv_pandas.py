"""Parse one chunk with pandas' C reader: the pandas and Modin engines' reader.

pandas tokenises the CSV with every field as text (so it never guesses a type); the null
markers are applied and the text is converted by the shared converters, so a chunk gives
exactly what `csv_chunk.parse_chunk` gives. Where pandas cannot be trusted with a chunk (a row
with too many fields or undecodable bytes raise; a row with too few fields is padded silently,
which a delimiter count catches; quoted fields defeat that count), the chunk goes to the shared
row-wise parser, so rejects and their line numbers are the same whichever engine ran.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.csv_chunk import (
    ChunkRef,
    CsvOptions,
    ParsedChunk,
    convert_text_columns,
    read_rowwise,
    record_lines,
)


def parse_chunk_pandas(data: bytes, chunk: ChunkRef, opts: CsvOptions) -> ParsedChunk:
    """The typed rows and rejects of `chunk`, tokenised by pandas."""
    texts = _tokenise(data, chunk, opts)
    if texts is None:
        return read_rowwise(data, chunk, opts)
    lines = record_lines(data, chunk.first_line, opts)
    if len(lines) != len(texts[chunk.column_names[0]]):
        return read_rowwise(data, chunk, opts)
    return convert_text_columns(texts, lines, chunk, opts, [], data)


def _tokenise(data: bytes, chunk: ChunkRef, opts: CsvOptions) -> dict[str, pa.Array] | None:
    """Each column as Arrow text with the null markers as nulls; None when pandas cannot be trusted."""
    import pandas as pd

    if b'"' in data or b"\r" in data.replace(b"\r\n", b""):
        return None
    try:
        frame = pd.read_csv(io.BytesIO(data), header=None, names=list(chunk.column_names), dtype=str,
                            keep_default_na=False, na_values=[], sep=opts.delimiter,
                            encoding=opts.encoding, engine="c", skip_blank_lines=True, quoting=3)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        return None
    fields = len(chunk.column_names)
    if data.count(opts.delimiter.encode(opts.encoding)) != len(frame) * (fields - 1):
        return None  # some row has fewer fields than the header (pandas pads it)
    nulls = pa.array(list(opts.null_values), type=pa.string())
    texts = {}
    for name in chunk.column_names:
        values = pa.array(np.asarray(frame[name], dtype=object), type=pa.string())
        texts[name] = pc.if_else(pc.is_in(values, value_set=nulls), None, values)
    return texts
