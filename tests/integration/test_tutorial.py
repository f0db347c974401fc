"""The tutorial's five steps run unchanged and keep their promises.

Each step runs in a real subprocess through ``tutorial_probe.py``, which records the interval of
every ``time.sleep`` (the steps' simulated I/O). Overlap is proven from those intervals, never
from elapsed time. Each run must exit 0, print what the tutorial promises, and leave no
non-daemon thread alive (so nothing hangs at exit).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, run_python

STEPS = ROOT / "examples" / "tutorial"
SEED_STEPS = ROOT.parent / "shared" / "seed" / "steps"
PROBE = Path(__file__).with_name("tutorial_probe.py")

Interval = tuple[str, float, float]


def run_step(number: int, tmp_path: Path) -> tuple[str, list[Interval], list[str]]:
    out = tmp_path / f"step{number}.json"
    result = run_python(PROBE, out, STEPS / f"step{number}.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    probe: dict[str, Any] = json.loads(out.read_text())
    sleeps = [(str(name), float(start), float(end)) for name, start, end in probe["sleeps"]]
    return result.stdout, sleeps, probe["lingering_threads"]


def all_overlap(sleeps: list[Interval]) -> bool:
    return max(s[1] for s in sleeps) < min(s[2] for s in sleeps)


def lines_with(stdout: str, text: str) -> list[str]:
    return [line for line in stdout.splitlines() if text in line]


@pytest.mark.skipif(not SEED_STEPS.is_dir(), reason="../shared/seed/steps not present")
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_examples_are_the_tutorial_verbatim(number: int) -> None:
    name = f"step{number}.py"
    assert (STEPS / name).read_bytes() == (SEED_STEPS / name).read_bytes()


def test_step1_sequential_runs_in_order_without_overlap(tmp_path: Path) -> None:
    stdout, sleeps, lingering = run_step(1, tmp_path)
    completed = lines_with(stdout, "completed")
    assert [line.split("] ")[1] for line in completed] == [
        f"Operation{i} completed" for i in (1, 2, 3)
    ]
    assert len(sleeps) == 3
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(sleeps))
    assert {s[0] for s in sleeps} == {"MainThread"}
    assert "Sequential time:" in stdout
    assert lingering == []


def test_step2_three_operations_overlap(tmp_path: Path) -> None:
    stdout, sleeps, lingering = run_step(2, tmp_path)
    assert all(stdout.count(f"Operation{i} completed") == 1 for i in (1, 2, 3))
    assert len(sleeps) == 3 and all_overlap(sleeps)
    assert len({s[0] for s in sleeps}) == 3
    assert "Concurrent time:" in stdout
    assert lingering == []


def test_step3_fetchers_overlap_and_aggregator_receives_all_three(tmp_path: Path) -> None:
    stdout, sleeps, lingering = run_step(3, tmp_path)
    assert len(sleeps) == 3 and all_overlap(sleeps)
    # Concurrent prints may share a line, so count occurrences in the whole output.
    assert stdout.count("Fetched: Data from Source") == 3
    assert stdout.count("Aggregated: ") == 3
    for i in (1, 2, 3):
        assert stdout.count(f"Aggregated: ['Data from Source{i}'] from ['Source{i}']") == 1
    assert "Total time:" in stdout
    assert lingering == []


def test_step4_final_count_is_five(tmp_path: Path) -> None:
    stdout, sleeps, lingering = run_step(4, tmp_path)
    assert [line for line in stdout.splitlines() if line.startswith("Count:")] == [
        f"Count: {i}" for i in range(1, 6)
    ]
    assert "Final count: 5" in stdout.splitlines()
    assert len(sleeps) == 5 and all_overlap(sleeps)
    assert lingering == []


def test_step5_five_processed_five_collected(tmp_path: Path) -> None:
    stdout, sleeps, lingering = run_step(5, tmp_path)
    assert all(stdout.count(f"Processed data from source F{i}") == 1 for i in range(5))
    assert stdout.count("Processed data from source") == 5
    assert all(stdout.count(f"from ['F{i}']") == 1 for i in range(5))
    assert stdout.count("Collected: ") == 5
    assert "Collected 5 results" in stdout.splitlines()
    assert len(sleeps) == 5 and all_overlap(sleeps)
    assert lingering == []
