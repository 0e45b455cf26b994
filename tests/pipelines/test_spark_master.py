"""--spark-master is checked before Spark starts: its forms, and whether a spark:// master answers."""

from __future__ import annotations

import re
import socket

import pytest

from cluster.errors import ConfigError
from pipelines.spark_master import check_spark_master


@pytest.mark.parametrize("master", ["local", "local[*]", "local[4]", "local[2,3]", "yarn", "k8s://https://k:443"])
def test_spark_master_forms_pass(master):
    check_spark_master(master)


@pytest.mark.parametrize("master, reason", [("garbage", "not a Spark master URL"),
                                            ("local[x]", "not a Spark master URL"),
                                            ("spark://nohost", "'nohost' is not HOST:PORT")])
def test_a_malformed_master_is_named(master, reason):
    with pytest.raises(ConfigError, match=f"--spark-master .{re.escape(master)}.*{reason}"):
        check_spark_master(master)


def test_a_spark_url_must_answer_on_its_port():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_spark_master(f"spark://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match=f"no Spark master answers at 127.0.0.1:{port}"):
        check_spark_master(f"spark://127.0.0.1:{port}", timeout_s=2)
