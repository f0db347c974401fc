"""The tutorial's parallel data-processing pipeline, run sequentially and then concurrently.

Five fetchers (each waits ``delay`` seconds, like a network call) feed one processor, which feeds
a collector that appends what it receives. The same flow runs once with each strategy; the script
prints what was collected and how long each strategy took.

    python examples/parallel_pipeline.py
"""

from __future__ import annotations

import time
from typing import Any

from routilux import Flow, JobState, Routine
from routilux.flow import ExecutionStrategy

FETCHERS = 5
DELAY = 0.1


class DataFetcher(Routine):
    def __init__(self, source_id: str, delay: float) -> None:
        super().__init__()
        self.set_config(source_id=source_id, delay=delay)
        self.define_slot("trigger", handler=self.fetch)
        self.define_event("output", ["data", "source_id"])

    def fetch(self) -> None:
        time.sleep(self.get_config("delay"))
        source_id = self.get_config("source_id")
        self.emit("output", data=f"Data from source {source_id}", source_id=source_id)


class DataProcessor(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.process)
        self.define_event("output", ["processed", "source_id"])

    def process(self, data: str, source_id: str) -> None:
        self.emit("output", processed=f"Processed: {data}", source_id=source_id)


class ResultCollector(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.collect, merge_strategy="append")
        self.results: list[str] = []

    def collect(self, processed: list[str], source_id: list[str]) -> None:
        # "append" hands over everything this job has collected so far; keep the newest item.
        self.results.append(f"{source_id[-1]}: {processed[-1]}")
        self.increment_stat("collected")


def build(strategy: ExecutionStrategy) -> tuple[Flow, list[str], ResultCollector]:
    flow = Flow(flow_id=f"pipeline-{strategy}", execution_strategy=strategy, max_workers=FETCHERS)
    fetcher_ids = [
        flow.add_routine(DataFetcher(f"F{i}", DELAY), f"fetcher{i}") for i in range(FETCHERS)
    ]
    flow.add_routine(DataProcessor(), "processor")
    collector = ResultCollector()
    flow.add_routine(collector, "collector")
    for fetcher_id in fetcher_ids:
        flow.connect(fetcher_id, "output", "processor", "input")
    flow.connect("processor", "output", "collector", "input")
    return flow, fetcher_ids, collector


def run(strategy: ExecutionStrategy) -> dict[str, Any]:
    flow, fetcher_ids, collector = build(strategy)
    with flow:
        start = time.perf_counter()
        jobs = [flow.execute(fetcher_id) for fetcher_id in fetcher_ids]
        for job in jobs:
            JobState.wait_for_completion(flow, job, timeout=30)
        elapsed = time.perf_counter() - start
    return {
        "strategy": strategy,
        "seconds": elapsed,
        "statuses": sorted({str(job.status) for job in jobs}),
        "collected": collector.get_stat("collected", 0),
        "results": sorted(collector.results),
    }


def main() -> None:
    print(f"{FETCHERS} fetchers x {DELAY:.2f}s -> processor -> collector\n")
    timings = {}
    for strategy in ("sequential", "concurrent"):
        report = run(strategy)
        timings[strategy] = report["seconds"]
        print(
            f"[{strategy}] jobs {', '.join(report['statuses'])}; "
            f"collected {report['collected']} results in {report['seconds']:.2f}s"
        )
        for line in report["results"]:
            print(f"    {line}")
    speedup = timings["sequential"] / timings["concurrent"]
    print(
        f"\nsequential {timings['sequential']:.2f}s vs concurrent "
        f"{timings['concurrent']:.2f}s ({speedup:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
