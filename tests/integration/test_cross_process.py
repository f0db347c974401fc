"""A paused job continues in another process; a killed process's checkpoint loses nothing.

Real subprocesses, real files: process one runs a concurrent job, pauses it with work held,
saves flow and job and exits (or is SIGKILLed later); process two loads both, resumes, and
every item is delivered exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import ROOT, run_python

APP = Path(__file__).with_name("durable_app.py")
COUNT = 40


def resume_in_new_process(tmp_path: Path, flow: Path, job: Path) -> dict[str, Any]:
    out = tmp_path / "result.json"
    result = run_python(APP, "resume", flow, job, out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def test_pause_save_exit_then_load_resume_in_another_process(tmp_path: Path) -> None:
    flow, job = tmp_path / "flow.json", tmp_path / "job.json"
    first = run_python(APP, "start", flow, job, str(COUNT), "9", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    saved = json.loads(job.read_text())
    assert saved["status"] == "paused"
    assert len(saved["held"]) > 0  # work really was held when the first process exited
    handled_before = len(saved["shared_log"])

    result = resume_in_new_process(tmp_path, flow, job)
    assert result["finished"] and result["status"] == "completed"
    assert result["held_at_load"] == len(saved["held"])
    assert sorted(result["log"]) == list(range(COUNT))  # every item exactly once
    assert result["handled"] == COUNT  # stats travelled with the flow
    assert sorted(result["merge_state"]["collector.input"]["items"]) == list(range(COUNT))
    assert handled_before < COUNT
    assert result["pause_points"] == 1


def test_sigkilled_process_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    flow, job = tmp_path / "flow.json", tmp_path / "job.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, str(APP), "checkpoint-then-hang", str(flow), str(job), str(COUNT), "5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not job.exists():  # the checkpoint is written atomically: exists => complete
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.02)
        time.sleep(0.2)  # let it resume and reach the hanging handler
        assert process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    checkpoint = json.loads(job.read_text())
    assert checkpoint["status"] == "paused" and checkpoint["held"]
    result = resume_in_new_process(tmp_path, flow, job)
    assert result["status"] == "completed"
    assert sorted(result["log"]) == list(range(COUNT))
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes left no temporary files
