"""The README's example runs as a real program and reports what it promises."""

from __future__ import annotations

from pathlib import Path

from tests.support import ROOT, run_python


def test_parallel_pipeline_example(tmp_path: Path) -> None:
    result = run_python(ROOT / "examples" / "parallel_pipeline.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[sequential] jobs completed; collected 5 results" in out
    assert "[concurrent] jobs completed; collected 5 results" in out
    for i in range(5):
        assert out.count(f"F{i}: Processed: Data from source F{i}") == 2
    assert "sequential " in out and " vs concurrent " in out
