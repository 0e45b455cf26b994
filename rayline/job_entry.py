"""Entry point for `ray submit`: runs a rayline command on a launched cluster's head node.

    ray submit ray_config.yaml rayline/job_entry.py etl s3://BUCKET/flights/ --out s3://BUCKET/processed/

`ray submit` copies this file to the head and runs it with the head's Python, where
ray_config.yaml's setup commands installed rayline from the working tree; the command then
joins the cluster it runs on (RAY_ADDRESS=auto).
"""

from __future__ import annotations

import os
import sys


def run(argv: list[str]) -> int:
    """Run `rayline ARGV` against the cluster of this node."""
    os.environ.setdefault("RAY_ADDRESS", "auto")
    from rayline.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
