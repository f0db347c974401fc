"""The README's first code example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import ROOT, run_python


def test_readme_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match is not None
    script = tmp_path / "readme_example.py"
    script.write_text(match.group(1), encoding="utf-8")
    result = run_python(script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["contents of https://example.org", "completed"]
