"""Features: exact values, unknown categories, a stable split, and row-by-row == batch."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from conftest import HEADER, good_rows

from pipelines.csv_chunk import ChunkRef, CsvOptions, parse_chunk
from pipelines.features import (
    FeatureSpec,
    add_features,
    build_vocabulary,
    distinct_categories,
    vocabulary_from_json,
    vocabulary_to_json,
)

NAMES = tuple(HEADER.split(","))


def table_of(lines: list[str]) -> pa.Table:
    data = ("\n".join(lines) + "\n").encode()
    return parse_chunk(data, ChunkRef("f.csv", 0, 0, 0, len(data), 2, NAMES), CsvOptions()).table


def test_feature_values():
    rows = good_rows(3)
    rows[2] = rows[2].replace(",UA,", ",ZZ,")
    table = table_of(rows)
    vocab = build_vocabulary({"carrier": ["AA", "UA"], "origin": ["EWR"], "dest": ["IAH"]})
    out = add_features(table, vocab, FeatureSpec())
    assert out.column("delayed").to_pylist() == [True, False, False]
    assert out.column("dep_hour").to_pylist() == [5, 5, 5]
    assert out.column("dep_weekday").to_pylist() == [1, 1, 1]  # 2013-01-01 was a Tuesday
    assert out.column("carrier_code").to_pylist() == [2, 2, 0]  # ZZ is unknown
    assert out.column("origin_code").to_pylist() == [1, 1, 1]
    assert out.column("distance").to_pylist() == [1400.0] * 3


def test_split_is_deterministic_and_near_the_fraction():
    table = table_of(good_rows(5000))
    vocab = build_vocabulary(distinct_categories(table))
    first = add_features(table, vocab, FeatureSpec()).column("split")
    again = add_features(table, vocab, FeatureSpec()).column("split")
    assert first.equals(again)
    valid = pc.sum(pc.equal(first, "valid")).as_py()
    assert 900 <= valid <= 1100  # 20% of 5000, binomial spread


def test_a_row_gets_the_same_features_alone_as_in_a_batch():
    table = table_of(good_rows(40))
    vocab = build_vocabulary(distinct_categories(table))
    batch = add_features(table, vocab, FeatureSpec())
    for i in (0, 17, 39):
        alone = add_features(table.slice(i, 1), vocab, FeatureSpec())
        assert alone.to_pylist() == batch.slice(i, 1).to_pylist()


def test_vocabulary_round_trips_through_json():
    vocab = build_vocabulary({"carrier": ["UA", "AA"], "origin": ["JFK"], "dest": []})
    assert vocabulary_from_json(vocabulary_to_json(vocab)) == vocab
    assert vocab["carrier"] == ("AA", "UA")
