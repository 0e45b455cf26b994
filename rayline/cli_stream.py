"""The streaming commands of `rayline`: argument parsing and printing only.

    rayline kafka start [--port 9092] | kafka status | kafka stop
    rayline produce flights --topic flights [--rate R] [--limit N] [--partitions P]
    rayline stream start --topic flights --consumers 2 [--lake DIR] | stream status [--json] | stream stop
    rayline bench stream [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console

from rayline.report import output_console

_out = output_console()
_err = Console(stderr=True)


def add_streaming_commands(commands, bench) -> None:
    kafka = commands.add_parser("kafka", help="the embedded Kafka-protocol broker (tansu)").add_subparsers()
    start = kafka.add_parser("start", help="start it on 127.0.0.1 (memory storage)")
    start.add_argument("--port", type=int, default=9092)
    start.set_defaults(run=_kafka_start)
    status = kafka.add_parser("status", help="is it running, and where")
    status.set_defaults(run=_kafka_status)
    stop = kafka.add_parser("stop", help="stop it (its messages are gone)")
    stop.set_defaults(run=_kafka_stop)
    for parser in (start, status, stop):
        parser.add_argument("--state-dir", default="data/kafka", help="where its pid and log are kept")
    produce = commands.add_parser("produce", help="replay data into Kafka").add_subparsers()
    flights = produce.add_parser("flights", help="the real flights as JSON events, in time order")
    flights.add_argument("--topic", default="flights")
    flights.add_argument("--source", default="data/raw/flights.csv")
    flights.add_argument("--rate", type=float, default=None, help="events per second (default: flat out)")
    flights.add_argument("--limit", type=int, default=None)
    flights.add_argument("--partitions", type=int, default=2, help="for a topic that does not exist yet")
    _add_kafka_flags(flights)
    flights.set_defaults(run=_produce_flights)
    _add_stream(commands)
    bench_stream = bench.add_parser("stream", help="consumer actors vs a plain kafka-python loop")
    bench_stream.add_argument("--events", type=int, default=50_000)
    bench_stream.add_argument("--json", action="store_true")
    bench_stream.add_argument("--results-dir", default="benchmarks/results")
    bench_stream.set_defaults(run=_bench_stream)


def _add_stream(commands) -> None:
    stream = commands.add_parser("stream", help="Kafka consumer actors feeding the lake").add_subparsers()
    start = stream.add_parser("start", help="start C consumer actors in one group (detached)")
    start.add_argument("--consumers", type=int, default=2)
    start.add_argument("--lake", default=None, help="default data/lake/<topic>")
    start.add_argument("--batch-records", type=int, default=2000)
    start.add_argument("--no-score", action="store_true", help="do not score through the delay model")
    start.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS, else local)")
    status = stream.add_parser("status", help="per partition: committed, end, lag, records/s, DLQ")
    status.add_argument("--json", action="store_true")
    status.add_argument("--wait", type=float, default=0, help="first wait up to this many seconds for lag 0")
    stop = stream.add_parser("stop", help="drain the in-flight batch, commit, stop the actors")
    for parser, run in ((start, _stream_start), (status, _stream_status), (stop, _stream_stop)):
        parser.add_argument("--topic", default="flights")
        parser.add_argument("--group", default=None, help="consumer group (default rayline-<topic>)")
        _add_kafka_flags(parser)
        parser.set_defaults(run=run)


def _add_kafka_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-servers", default=None,
                        help="host:port[,...] (default: the local broker, else 127.0.0.1:9092)")
    parser.add_argument("--security-protocol", default="PLAINTEXT",
                        help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    parser.add_argument("--sasl-mechanism", default=None, help="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    parser.add_argument("--sasl-username", default=None,
                        help="the password comes from $RAYLINE_KAFKA_PASSWORD")
    parser.add_argument("--ssl-cafile", default=None, help="CA bundle for TLS")


def _kafka_settings(args: argparse.Namespace):
    from actors.kafka_broker import BrokerSettings, broker_status
    from actors.kafka_config import KafkaSettings

    bootstrap = args.bootstrap_servers
    if not bootstrap:
        local = broker_status(BrokerSettings())
        bootstrap = local.bootstrap if local else KafkaSettings.bootstrap_servers
    return KafkaSettings(bootstrap, args.security_protocol, args.sasl_mechanism, args.sasl_username,
                         ssl_cafile=args.ssl_cafile)


def _stream_spec(args: argparse.Namespace, **extra):
    from actors.kafka_config import StreamSpec

    return StreamSpec(topic=args.topic, group_id=args.group, **extra)


def _kafka_start(args: argparse.Namespace) -> int:
    from actors.kafka_broker import BrokerSettings, start_broker

    state, started = start_broker(BrokerSettings(port=args.port, state_dir=args.state_dir))
    verb = "started" if started else "already running"
    _out.print(f"Kafka-protocol broker (tansu) {verb} at {state.bootstrap} "
               f"(pid {state.pid}, log {state.log})")
    return 0


def _kafka_status(args: argparse.Namespace) -> int:
    from actors.kafka_broker import BrokerSettings, broker_status

    state = broker_status(BrokerSettings(state_dir=args.state_dir))
    _out.print(f"broker running at {state.bootstrap} (pid {state.pid})" if state else "no local broker runs")
    return 0 if state else 1


def _kafka_stop(args: argparse.Namespace) -> int:
    from actors.kafka_broker import BrokerSettings, stop_broker

    stopped = stop_broker(BrokerSettings(state_dir=args.state_dir))
    _out.print("broker stopped" if stopped else "no local broker was running")
    return 0


def _produce_flights(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from actors.flight_producer import ProduceSpec, produce_flights
    from rayline.report import key_value_table

    spec = ProduceSpec(args.source, args.topic, args.rate, args.limit, args.partitions)
    with Progress(console=_err, transient=True) as progress:
        task = progress.add_task(f"producing to {args.topic}", total=args.limit)
        result = produce_flights(spec, _kafka_settings(args), lambda n: progress.update(task, completed=n))
    _out.print(key_value_table("produced", result))
    return 0


def _stream_start(args: argparse.Namespace) -> int:
    from actors.stream import start_stream
    from cluster.local import join_persistent_cluster

    spec = _stream_spec(args, consumers=args.consumers, lake=args.lake, batch_records=args.batch_records,
                        score=not args.no_score)
    kafka = _kafka_settings(args)
    for note in join_persistent_cluster(args.address):
        _err.print(note, highlight=False)
    handle = start_stream(spec, kafka, detached=True)
    _out.print(f"{len(handle.actors)} consumer actors on '{spec.topic}' (group {spec.group}) -> "
               f"{spec.lake_dir}; `rayline stream status` shows progress")
    return 0


def _stream_status(args: argparse.Namespace) -> int:
    from actors.stream import stream_status
    from rayline.report import stream_table

    spec, kafka = _stream_spec(args), _kafka_settings(args)
    handle = _connect_and_find(spec.topic)
    deadline = time.monotonic() + args.wait
    status = stream_status(spec, kafka, handle)
    while status["lag"] and time.monotonic() < deadline:
        time.sleep(1)
        status = stream_status(spec, kafka, handle)
    if args.json:
        print(json.dumps(status, indent=1, default=str))
    else:
        _out.print(stream_table(status))
    return 0


def _stream_stop(args: argparse.Namespace) -> int:
    handle = _connect_and_find(args.topic)
    if handle is None:
        _out.print(f"no consumer actors of '{args.topic}' are running")
        return 0
    final = handle.stop()
    rows = sum(s["rows_written"] for s in final)
    _out.print(f"stopped {len(final)} consumer actors of '{args.topic}' ({rows:,} rows written this run)")
    return 0


def _connect_and_find(topic: str):
    """The running consumers of `topic` on the local cluster or RAY_ADDRESS; None if none."""
    from actors.stream import find_stream
    from cluster.connect import ensure_ray
    from cluster.errors import ClusterError

    try:
        ensure_ray(None, allow_in_process=False, log_to_driver=False)
    except ClusterError:
        return None
    return find_stream(topic)


def _bench_stream(args: argparse.Namespace) -> int:
    from benchmarks.stream_bench import StreamBenchSettings, run_stream_benchmark
    from rayline.report import print_result, scalars_table

    settings = StreamBenchSettings(events=args.events, results_dir=args.results_dir)
    result = run_stream_benchmark(settings, log=lambda m: _err.print(m, highlight=False))
    print_result(_out, result, args.json, scalars_table("streaming benchmark"))
    return 0
