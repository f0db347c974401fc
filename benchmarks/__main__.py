"""Run the benchmark suite: ``python -m benchmarks [--quick] [--json PATH]``.

Prints a table and writes JSON (default ``benchmarks/results/latest.json``). ``--quick`` runs
small sizes only (seconds, for smoke checks); the default sizes are the ones the targets in the
README's performance section are stated for.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import attrs

from benchmarks import workloads
from benchmarks.workloads import Row


def run(quick: bool) -> list[Row]:
    if quick:
        return [
            *workloads.throughput(items=2_000, repeats=1),
            *workloads.fan_out(workers=4, delay=0.02, repeats=1),
            *workloads.completion_latency(samples=20),
            *workloads.scaling([1_000, 10_000], repeats=1),
            *workloads.memory(activations=10_000, jobs=100),
            *workloads.compile_time([10, 100], repeats=1),
        ]
    return [
        *workloads.throughput(items=50_000, repeats=5),
        *workloads.fan_out(workers=8, delay=0.1, repeats=3),
        *workloads.completion_latency(samples=200),
        *workloads.scaling([1_000, 10_000, 100_000, 1_000_000], repeats=3),
        *workloads.memory(activations=100_000, jobs=1_000),
        *workloads.compile_time([10, 100, 1_000], repeats=3),
    ]


def table(rows: list[Row]) -> str:
    header = ("workload", "case", "value", "baseline", "ratio", "target", "ok")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.workload,
                r.case,
                f"{r.value:,.3f} {r.unit}",
                "" if r.baseline is None else f"{r.baseline:,.3f}",
                "" if r.ratio is None else f"{r.ratio:.3f}",
                r.target,
                {True: "yes", False: "NO", None: ""}[r.passed],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/latest.json"))
    args = parser.parse_args(argv)
    started = time.time()
    rows = run(args.quick)
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "started": started,
                "python": sys.version,
                "machine": platform.platform(),
                "quick": args.quick,
                "rows": [attrs.asdict(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nwrote {args.json}")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
