"""examples/allreduce_demo.py (the README's Python example) runs and prints the sums."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "allreduce_demo.py"


def test_allreduce_demo_runs() -> None:
    run = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("rank ")]
    assert len(lines) == 3
    assert all("sum [6. 6. 6. 6.]" in line and "all_gather [ 0 10 20]" in line for line in lines)
