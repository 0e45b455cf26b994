"""Streaming with online scoring: the consumer actors call the delay model's Serve app."""

from __future__ import annotations

import time

import pyarrow.dataset as pads
import pytest

from actors import kafka_admin
from actors.flight_producer import ProduceSpec, produce_flights
from actors.kafka_config import KafkaSettings, StreamSpec
from actors.stream import start_stream, stream_status

pytestmark = pytest.mark.slow


def test_streamed_flights_are_scored_beside_the_lake(serve_url, kafka_broker, flights_csv, tmp_path):
    kafka = KafkaSettings(bootstrap_servers=kafka_broker)
    produce_flights(ProduceSpec(str(flights_csv), "scored", None, 500, 2), kafka)
    spec = StreamSpec(topic="scored", consumers=1, lake=str(tmp_path / "lake" / "scored"), vocabulary=None,
                      batch_records=200)
    handle = start_stream(spec, kafka)
    try:
        deadline = time.monotonic() + 120
        while stream_status(spec, kafka, None)["lag"] and time.monotonic() < deadline:
            time.sleep(0.5)
        [stats] = handle.stats()
    finally:
        handle.stop()
    assert kafka_admin.topic_size(kafka, "scored") == 500
    lake = pads.dataset(spec.lake_dir, format="parquet").to_table()
    predictions = pads.dataset(spec.predictions_dir, format="parquet").to_table()
    assert lake.num_rows == predictions.num_rows == stats["scored"] == 500
    assert not spec.predictions_dir.startswith(spec.lake_dir + "/")  # beside the lake, not inside it
    probabilities = predictions.column("probability").to_pylist()
    assert all(0 < p < 1 for p in probabilities) and len(set(probabilities)) > 10
    assert lake.column("delayed").null_count == lake.column("arr_delay").null_count  # label when known
