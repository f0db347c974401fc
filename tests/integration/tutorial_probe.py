"""Run a script unchanged while recording every ``time.sleep`` interval (thread, start, end).

Usage: python tutorial_probe.py OUT.json SCRIPT.py

The intervals let a test prove that simulated I/O really overlapped (or did not) without
asserting any elapsed time. Also records non-daemon threads still alive when the script ends.
"""

from __future__ import annotations

import json
import runpy
import sys
import threading
import time
from typing import SupportsIndex

_real_sleep = time.sleep
_intervals: list[tuple[str, float, float]] = []
_lock = threading.Lock()


def _recording_sleep(seconds: float | SupportsIndex) -> None:
    start = time.monotonic()
    _real_sleep(seconds)
    with _lock:
        _intervals.append((threading.current_thread().name, start, time.monotonic()))


def main() -> None:
    out, script = sys.argv[1], sys.argv[2]
    time.sleep = _recording_sleep
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        main_thread = threading.main_thread()
        lingering = [
            t.name
            for t in threading.enumerate()
            if t is not main_thread and not t.daemon and t.is_alive()
        ]
        with open(out, "w", encoding="utf-8") as handle:
            json.dump({"sleeps": _intervals, "lingering_threads": lingering}, handle)


if __name__ == "__main__":
    main()
