"""The README's example runs as a real program and reports what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_parallel_pipeline_example(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "parallel_pipeline.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[sequential] jobs completed; collected 5 results" in out
    assert "[concurrent] jobs completed; collected 5 results" in out
    for i in range(5):
        assert out.count(f"F{i}: Processed: Data from source F{i}") == 2
    assert "sequential " in out and " vs concurrent " in out
