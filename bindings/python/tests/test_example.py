"""The examples run: allreduce_demo.py (the README's Python example) prints the sums;
diloco_numpy.py trains through a killed peer and a joiner."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "allreduce_demo.py"
DILOCO = EXAMPLES / "diloco_numpy.py"


def test_allreduce_demo_runs() -> None:
    run = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("rank ")]
    assert len(lines) == 3
    assert all("sum [6. 6. 6. 6.]" in line and "all_gather [ 0 10 20]" in line for line in lines)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_diloco_example_survives_a_kill_and_admits_a_joiner(mode: str) -> None:
    run = subprocess.run([sys.executable, str(DILOCO), "--mode", mode, "--deadline", "90"],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    found = [re.fullmatch(r"round (\d+) loss ([0-9.]+) peers (\d+)( \(.*\))?", line)
             for line in lines]
    rounds = [m for m in found if m]
    assert [int(m[1]) for m in rounds] == list(range(1, 13)), run.stdout
    losses = [float(m[2]) for m in rounds]
    peers = [int(m[3]) for m in rounds]
    assert peers[0] == 4 and 3 in peers and peers[-1] == 4, run.stdout  # killed, then joined
    assert any(re.fullmatch(r"killed peer 3 \(pid \d+\) with SIGKILL after its round \d+", line)
               for line in lines), run.stdout
    assert any(re.match(r"peer 4 joined at round \d+ \(world size 4\)", line)
               for line in lines), run.stdout
    assert any("retried on the survivors" in line for line in lines), run.stdout
    assert "parity ok: peers [0, 1, 2, 4] hold identical parameters" in lines, run.stdout
    assert losses[-1] < losses[0], losses
