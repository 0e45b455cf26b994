"""JSON records to typed rows: the same rules as the CSV path, and the same features."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.csv_chunk import ChunkRef, CsvOptions, parse_chunk
from pipelines.features import CODE_COLUMNS, NUMERIC_FEATURES, FeatureSpec, add_features, model_inputs
from pipelines.flights_schema import COLUMN_NAMES
from pipelines.records import FEATURE_INPUTS, records_to_table
from serve.client import read_csv_records

GOOD = {"year": 2013, "month": 1, "day": 1, "sched_dep_time": 515, "carrier": "UA", "origin": "EWR",
        "dest": "IAH", "distance": 1400}


def test_errors_name_record_and_field_and_good_records_keep_their_index():
    records = [GOOD, {**GOOD, "month": 13}, {k: v for k, v in GOOD.items() if k != "dest"},
               {**GOOD, "distance": "far"}, {**GOOD, "day": 29, "month": 2}, 7, {**GOOD, "year": 2.5}, GOOD]
    typed = records_to_table(records, FEATURE_INPUTS, required=FEATURE_INPUTS)
    assert typed.indices == [0, 7] and typed.table.num_rows == 2
    found = [(e.index, e.field) for e in typed.errors]
    assert found == [(1, "month"), (2, "dest"), (3, "distance"), (4, "day"), (5, None), (6, "year")]
    assert "missing field 'dest'" in typed.errors[1].reason
    assert "past the end of its month" in typed.errors[3].reason


def test_values_json_allows_but_columns_cannot_hold_are_errors_not_crashes():
    records = [{**GOOD, "carrier": "\ud800"}, {**GOOD, "distance": 10**400},
               {**GOOD, "time_hour": "9999-12-31T23:30:00-01:00"},
               {**GOOD, "time_hour": "0001-01-01T00:00:00+01:00"}]
    typed = records_to_table(records, (*FEATURE_INPUTS, "time_hour"))
    assert typed.table.num_rows == 0
    assert [(e.index, e.field) for e in typed.errors] == [(0, "carrier"), (1, "distance"), (2, "time_hour"),
                                                         (3, "time_hour")]


def test_optional_fields_may_be_absent_or_null_and_time_needs_a_zone():
    typed = records_to_table([{**GOOD, "arr_delay": None}, GOOD], (*FEATURE_INPUTS, "arr_delay"),
                             required=FEATURE_INPUTS)
    assert typed.table.column("arr_delay").null_count == 2 and not typed.errors
    naive = records_to_table([{**GOOD, "time_hour": "2013-01-01T05:00:00"}], ("time_hour",))
    assert naive.errors[0].field == "time_hour" and "no time zone" in naive.errors[0].reason


def test_json_records_get_the_same_features_as_the_csv_path(flights_csv):
    """2,000 real rows through the CSV parser + add_features vs JSON records + model_inputs."""
    data = flights_csv.read_bytes()
    head = data[: data.index(b"\n", 400_000) + 1]
    chunk = ChunkRef(str(flights_csv), 0, 0, 0, len(head), 1, tuple(COLUMN_NAMES))
    csv_table = parse_chunk(head, chunk, CsvOptions()).table
    vocab = {"carrier": ("AA", "B6", "UA"), "origin": ("EWR", "JFK", "LGA"), "dest": ("IAH", "MIA")}
    featurised = add_features(csv_table, vocab, FeatureSpec())
    records = read_csv_records(str(flights_csv), 2000)
    assert csv_table.num_rows > 2000
    typed = records_to_table(records, COLUMN_NAMES)
    assert not typed.errors
    inputs = model_inputs(typed.table, vocab)
    for name in (*CODE_COLUMNS, *NUMERIC_FEATURES):
        expected = featurised.column(name).to_numpy()[: typed.table.num_rows]
        np.testing.assert_array_equal(inputs[name], expected, err_msg=name)
    assert typed.table.schema.field("time_hour").type == pa.timestamp("s", tz="UTC")
