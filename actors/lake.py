"""The Parquet lake of a topic: one file per partition and micro-batch, named by its offsets.

`<topic>-p<partition>-<first offset>-<last offset>.parquet` is written under a temporary name
and renamed, so a reader never sees half a file. The highest offset already in the lake
for a partition (its high-water mark) tells a consumer that re-reads after a crash which
records are already there: replays add nothing twice.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_FILE = re.compile(r"^(?P<topic>.+)-p(?P<partition>\d{3,})-(?P<first>\d{12,})-(?P<last>\d{12,})\.parquet$")


def file_name(topic: str, partition: int, first: int, last: int) -> str:
    return f"{topic}-p{partition:03d}-{first:012d}-{last:012d}.parquet"


def high_water(folder: str, topic: str, partition: int) -> int:
    """The last offset of `topic`'s `partition` held in the lake; -1 if none."""
    marks = [int(m["last"]) for m in map(_FILE.match, _names(folder))
             if m and m["topic"] == topic and int(m["partition"]) == partition]
    return max(marks, default=-1)


def write_atomically(folder: str, name: str, table: pa.Table) -> str:
    """Write `table` as folder/name via a temporary file and a rename."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    final = os.path.join(folder, name)
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return final


TOPIC_FILE = "_topic.json"


def read_anchors(folder: str) -> dict:
    """What the lake recorded of its topic: {"topic", "anchors": {partition: [offset, timestamp_ms]}}."""
    try:
        with open(os.path.join(folder, TOPIC_FILE), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_anchors(folder: str, content: dict) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    tmp = os.path.join(folder, f".{TOPIC_FILE}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(content, f)
    os.replace(tmp, os.path.join(folder, TOPIC_FILE))


def lake_rows(folder: str) -> int:
    """Rows in the lake's complete files (from the Parquet footers)."""
    return sum(pq.ParquetFile(os.path.join(folder, n)).metadata.num_rows
               for n in _names(folder) if _FILE.match(n))


def _names(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []
