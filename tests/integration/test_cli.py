"""``routilux check`` / ``routilux graph`` in a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from routilux import Flow
from tests.integration import cli_flows
from tests.support import ROOT, run_python

MODULE = "tests.integration.cli_flows"


def cli(*args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    result = run_python("-m", "routilux", *args, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def test_check_reports_every_error_and_fails() -> None:
    code, out, _ = cli("check", f"{MODULE}:broken")
    assert code == 1
    assert "handler-param-unprovided" in out and "duplicate-connection" in out


def test_check_passes_with_warnings_and_json() -> None:
    code, out, _ = cli("check", f"{MODULE}:good")
    assert code == 0
    assert "[warning] unconnected-event at takes.unused" in out
    code, out, _ = cli("check", f"{MODULE}:broken", "--json")
    problems = json.loads(out)
    assert {p["code"] for p in problems} >= {"duplicate-connection"}
    assert all(set(p) == {"code", "severity", "location", "message", "hint"} for p in problems)


def test_check_a_saved_file_needs_the_registering_module(tmp_path: Path) -> None:
    flow = Flow("saved")
    flow.add_routine(cli_flows.Start(), "start")
    path = tmp_path / "flow.json"
    flow.save(str(path))
    code, _, err = cli("check", str(path))
    assert code == 2 and "unknown routine type 'cli.Start'" in err
    code, out, _ = cli("check", str(path), "--import", MODULE, "--entry", "start")
    assert code == 0 and "unconnected-event" in out


def test_graph_and_bad_targets() -> None:
    code, out, _ = cli("graph", f"{MODULE}:broken", "--format", "dot")
    assert code == 0 and out.startswith('digraph "broken"')
    code, out, _ = cli("graph", f"{MODULE}:broken")
    assert code == 0 and out.startswith("flowchart LR")
    code, _, err = cli("check", f"{MODULE}:not_a_flow")
    assert code == 2 and "not a Flow" in err
    code, _, err = cli("check", "nonsense")
    assert code == 2 and "neither a .json file" in err
    code, _, err = cli("check", f"{MODULE}:missing")
    assert code == 2 and "no function 'missing'" in err
