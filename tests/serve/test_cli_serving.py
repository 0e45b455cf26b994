"""`rayline prompt`, `rayline predict` and `rayline serve status` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def rayline(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run([sys.executable, "-m", "rayline.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_prompt_prints_the_answer_and_streams_it(serve_url):
    question = "What is the capital of France? Answer in one word."
    done = rayline("prompt", question, "--url", serve_url, "--max-tokens", "20")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout and "completion tokens" in done.stderr
    streamed = rayline("prompt", question, "--url", serve_url, "--max-tokens", "20", "--stream")
    assert streamed.returncode == 0 and streamed.stdout == done.stdout


def test_predict_scores_real_csv_rows(serve_url, flights_csv):
    done = rayline("predict", "--csv", str(flights_csv), "--rows", "3", "--url", serve_url, "--json")
    assert done.returncode == 0, done.stderr
    assert '"rows_scored": 3' in done.stdout


def test_client_errors_are_one_line_and_a_nonzero_exit(serve_url, flights_csv, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"year": 2013}]')
    done = rayline("predict", "--json-file", str(bad), "--url", serve_url)
    assert done.returncode == 2 and "records[0].month" in done.stderr
    assert rayline("predict", "--rows", "0", "--csv", str(flights_csv)).returncode == 2
    nobody = rayline("prompt", "hi", "--url", "http://127.0.0.1:9")
    assert nobody.returncode == 4 and "nothing answers at http://127.0.0.1:9" in nobody.stderr
    assert "Traceback" not in nobody.stderr + done.stderr


def test_serve_status_without_a_cluster_says_how_to_start_one(ray_local):
    done = rayline("serve", "status")
    assert done.returncode == 4 and "rayline cluster start" in done.stderr
