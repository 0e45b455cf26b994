"""Human-readable summaries (rich tables) of what the commands did; no logic beyond layout."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

_COUNTS = ("rows_in", "rows_out", "rows_filtered", "rows_rejected")


def output_console() -> Console:
    """The console for results on stdout: the terminal's width, or 132 columns when stdout is a
    pipe or a job's log (Rich's 80 would cut the wider tables' numbers) unless COLUMNS says."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=132 if piped else None)


def etl_summary(console: Console, manifest: dict, skipped: bool) -> None:
    """The ETL summary: totals, per-file counts where useful, and where rejects went."""
    title = (f"ETL up to date (written by the {manifest.get('engine', '?')} engine from the same input and "
             "settings; --force reruns)") if skipped else "ETL finished"
    if manifest["rows_in"] == 0:
        title += ": no data rows"
    table = Table(title=title, title_justify="left")
    for name in (*_COUNTS, "rows_delayed", "MB/s", "seconds"):
        table.add_column(name.replace("rows_", ""), justify="right")
    table.add_row(*[f"{manifest[k]:,}" for k in (*_COUNTS, "rows_delayed")],
                  f"{manifest['mb_per_s'] or 0:,.1f}", f"{manifest['seconds']:.1f}")
    console.print(table)
    files = manifest["files"]
    odd = [f for f in files if f["status"] != "ok" or f["rows_rejected"]]
    if 1 < len(files) <= 12 or odd:
        console.print(_files_table(files if len(files) <= 12 else odd))
    if manifest["rows_rejected"]:
        console.print(f"[yellow]{manifest['rows_rejected']:,} rejected rows are in "
                      f"{manifest['dest']}/_quarantine/ with file, line and reason[/yellow]")
    count = len(manifest["outputs"])
    console.print(f"output: {manifest['dest']} ({count} Parquet file{'' if count == 1 else 's'})")


def _files_table(files: list[dict]) -> Table:
    table = Table(title="per file", title_justify="left")
    table.add_column("file")
    table.add_column("status")
    for name in _COUNTS:
        table.add_column(name.replace("rows_", ""), justify="right")
    for f in files:
        table.add_row(f["path"], f["status"], *[f"{f[k]:,}" for k in _COUNTS])
    return table


def key_value_table(title: str, rows: dict) -> Table:
    """A two-column table of names and values."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("name")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(str(key), f"{value:,}" if isinstance(value, int) else str(value))
    return table


def print_result(console: Console, result: dict, as_json: bool,
                 table: Callable[[dict], Table]) -> None:
    """A benchmark's result: indented JSON on stdout for scripts, else the table ``table`` lays out."""
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        console.print(table(result))


def scalars_table(title: str) -> Callable[[dict], Table]:
    """Lays out a result's top-level numbers and strings (lists and dicts go to --json only)."""
    return lambda result: key_value_table(
        title, {k: v for k, v in result.items() if not isinstance(v, dict | list)})


def train_summary(console: Console, report) -> None:
    """Per-epoch metrics, then the MLP against the two baselines on the same validation split."""
    epochs = Table(title=f"training {report.run_id} ({report.workers} "
                         f"{'GPU' if report.use_gpu else 'CPU'} workers)", title_justify="left")
    for name in ("epoch", "attempt", "train loss", "val AUC", "val log loss", "val accuracy", "samples/s"):
        epochs.add_column(name, justify="right")
    for h in report.history:
        epochs.add_row(str(h["epoch"]), str(h["attempt"]), f"{h['train_loss']:.4f}", f"{h['val_auc']:.4f}",
                       f"{h['val_log_loss']:.4f}", f"{h['val_accuracy']:.4f}", f"{h['samples_per_s']:,.0f}")
    console.print(epochs)
    compare = Table(title="validation split", title_justify="left")
    for name in ("model", "AUC", "log loss", "accuracy"):
        compare.add_column(name, justify="right" if name != "model" else "left")
    rows = [("always majority", report.baselines["majority"]),
            ("logistic regression", report.baselines["logistic_regression"]),
            (f"MLP (best: epoch {report.best['epoch']})", report.best)]
    for name, m in rows:
        compare.add_row(name, f"{m['val_auc']:.4f}", f"{m['val_log_loss']:.4f}", f"{m['val_accuracy']:.4f}")
    console.print(compare)
    console.print(f"model registered: {report.model_dir} (models/latest points at it)")


def models_table(runs: list[dict]) -> Table:
    """`rayline models list`: one row per registered run."""
    table = Table(title="model registry", title_justify="left")
    table.add_column("run", no_wrap=True, min_width=22)
    for name in ("latest", "best epoch", "val AUC", "val log loss", "val accuracy", "LR AUC"):
        table.add_column(name, justify="right")
    for r in runs:
        table.add_row(r["run_id"], "*" if r["latest"] else "", str(r["epoch"]), f"{r['val_auc']:.4f}",
                      f"{r['val_log_loss']:.4f}", f"{r['val_accuracy']:.4f}",
                      f"{r['logistic_regression_auc']:.4f}")
    return table


def serving_table(report) -> Table:
    """Serve applications: route, status and replicas per deployment."""
    table = Table(title=f"Serve at {report.url}" if report.url else "Serve: no application running",
                  title_justify="left")
    for name in ("application", "route", "status", "deployment", "replicas", "message"):
        table.add_column(name)
    for app_name, app in report.applications.items():
        for dep_name, dep in app["deployments"].items():
            replicas = ", ".join(f"{n} {state.lower()}" for state, n in dep["replicas"].items()) or "-"
            table.add_row(app_name, app["route"], app["status"], dep_name, replicas,
                          (dep["message"] or app["message"] or "")[:80])
    return table


def predictions_table(records: list[dict], body: dict) -> Table:
    """Each scored flight and its probability of arriving more than 15 minutes late."""
    table = Table(title=f"delay model {body['model']}: P(arrival > 15 min late)", title_justify="left")
    for name in ("date", "carrier", "flight", "route", "sched dep", "P(delayed)"):
        table.add_column(name, justify="right" if name in ("flight", "P(delayed)") else "left")
    for prediction in body["predictions"]:
        r = records[prediction["index"]]
        table.add_row(f"{r.get('year')}-{r.get('month'):02}-{r.get('day'):02}", str(r.get("carrier")),
                      str(r.get("flight", "")), f"{r.get('origin')}->{r.get('dest')}",
                      f"{r.get('sched_dep_time'):04}", f"{prediction['probability']:.3f}")
    return table


def serve_bench_table(result: dict) -> Table:
    """Per concurrency: endpoint vs sequential-generate throughput and latencies."""
    table = Table(title=f"LLM serving benchmark ({result['model']}, max_tokens {result['max_tokens']})",
                  title_justify="left")
    for name in ("clients", "tokens/s", "baseline tokens/s", "ratio", "p50 ms", "p95 ms", "TTFT ms"):
        table.add_column(name, justify="right")
    for level in result["levels"]:
        table.add_row(str(level["concurrency"]), f"{level['tokens_per_s']:.1f}",
                      f"{level['baseline_tokens_per_s']:.1f}", f"{level['ratio']:.2f}",
                      f"{level['p50_ms']:.0f}", f"{level['p95_ms']:.0f}", f"{level['ttft_ms']:.0f}")
    return table


def stream_table(status: dict) -> Table:
    """Per partition: committed offset, end offset, lag, records/s and dead letters."""
    table = Table(title=f"stream '{status['topic']}' (group {status['group']}, "
                        f"{status['running_consumers']} consumers running)", title_justify="left")
    for name in ("partition", "committed", "end", "lag", "records/s", "DLQ"):
        table.add_column(name, justify="right")
    for p in status["partitions"]:
        table.add_row(str(p["partition"]), f"{p['committed']:,}", f"{p['end']:,}", f"{p['lag']:,}",
                      f"{p['records_per_s']:,.0f}", f"{p['dlq']:,}")
    table.caption = (f"lake {status['lake']}: {status['rows_written']:,} rows; "
                     f"{status['rows_scored']:,} scored in {status['predictions']}; "
                     f"{status['dlq_topic']}: {status['dlq']:,} dead letters")
    return table


def compare_table(runs: list) -> Table:
    """`rayline compare`: one row per engine; rows in = out + filtered + rejected on each."""
    table = Table(title="the same ETL on each engine", title_justify="left",
                  caption="rows in/s: input rows over the ETL's seconds (engine start apart); peak memory: "
                          "the engine's process tree (an outside Ray cluster's workers not counted)",
                  caption_justify="left")
    for name in ("engine", "rows in", "rows out", "filtered", "rejected", "seconds", "rows in/s",
                 "peak memory MB", "wall s"):
        table.add_column(name, justify="left" if name == "engine" else "right")
    for run in runs:
        if run.manifest is None:
            table.add_row(run.engine, "[red]failed[/red]", "", "", "", "", "", f"{run.peak_rss_mb:,.0f}",
                          f"{run.wall_seconds:.1f}")
            continue
        m = run.manifest
        rate = m["rows_in"] / m["seconds"] if m["seconds"] else 0
        table.add_row(run.engine, *(f"{m[k]:,}" for k in _COUNTS), f"{m['seconds']:.2f}",
                      f"{rate:,.0f}", f"{run.peak_rss_mb:,.0f}", f"{run.wall_seconds:.1f}")
    return table


def bench_etl_table(result: dict) -> Table:
    """`rayline bench etl`: seconds by engine (rows) and input size (columns)."""
    table = Table(title=f"ETL seconds by engine and input size ({result['cpus']} CPUs; "
                        "peak memory MB in brackets)", title_justify="left")
    table.add_column("engine")
    for size in result["sizes"]:
        table.add_column(f"{size['input_mb']:,.0f} MB", justify="right")
    for engine in result["engines"]:
        cells = []
        for size in result["sizes"]:
            r = next(r for r in result["results"] if r["engine"] == engine and r["copies"] == size["copies"])
            cells.append(f"{r['seconds']:.2f} ({r['peak_rss_mb']:,.0f})")
        table.add_row(engine, *cells)
    table.add_row("fastest distributed", *[s["fastest_distributed"] or "-" for s in result["sizes"]])
    table.add_row("ray vs pyarrow", *[f"{s['ray_vs_pyarrow']:.2f}" if "ray_vs_pyarrow" in s else "-"
                                      for s in result["sizes"]])
    return table


def nodes_table(nodes: list[dict]) -> Table:
    """`rayline cluster status`: one row per alive node."""
    table = Table(title="nodes", title_justify="left")
    for name in ("node", "kind", "ip", "CPU", "GPU"):
        table.add_column(name, justify="right" if name in ("CPU", "GPU") else "left")
    for n in sorted(nodes, key=lambda n: (n["kind"] != "head", n["node_id"])):
        table.add_row(n["node_id"], n["kind"], str(n["ip"]), f"{n['CPU']:g}", f"{n['GPU']:g}")
    return table
