"""Delivery, merge and counting invariants over random flows, payload counts and pool sizes.

DESIGN.md invariants 1-5: every emit is delivered exactly once to every connected slot; merges
are atomic (``append`` and custom merges see every delivery, with no loss or duplicate);
``increment_stat`` totals are exact; a job completes only after all its work; sequential runs
are deterministic.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given

from routilux import Routine
from tests.property.strategies import FlowSpec, build, flow_specs


def run(spec: FlowSpec) -> tuple[list[tuple[str, Any]], dict[str, Routine], Any]:
    flow, log = build(spec)
    job = flow.execute("source", {"count": spec.count})
    assert job.wait(timeout=30), "job did not finish"
    flow.shutdown()
    assert job.status == "completed", job.error
    return log.calls, dict(flow.routines), job


@given(flow_specs())
def test_every_emit_is_delivered_exactly_once_per_connected_slot(spec: FlowSpec) -> None:
    calls, routines, job = run(spec)
    expected = spec.expected_items()
    deliveries = 1 + sum(expected[n].total() for n in (*spec.relays, *spec.leaves))
    stats = job.statistics()
    assert (stats.emitted, stats.delivered) == (deliveries, deliveries)
    assert (stats.dropped, stats.held, stats.pending, stats.retried) == (0, 0, 0, 0)
    for name in spec.relays:
        delivered = Counter(item for who, item in calls if who == name)
        assert delivered == expected[name], name
        assert routines[name].get_stat("calls", 0) == expected[name].total()
        state = job.get_routine_state(name)
        assert (state.activations if state else 0) == expected[name].total()
    for name in spec.leaves:
        received = [item for who, item in calls if who == name]
        assert len(received) == expected[name].total(), name
        assert routines[name].get_stat("calls", 0) == expected[name].total()
        merge = spec.merge[name]
        if merge == "override":
            assert Counter(received) == expected[name]
        elif received:
            # append / custom: calls see 1, 2, ..., n accumulated items; the fullest call holds
            # exactly the delivered multiset (no loss, no duplicate).
            assert sorted(len(items) for items in received) == list(range(1, len(received) + 1))
            fullest = max(received, key=len)
            assert Counter(fullest) == expected[name]


@given(flow_specs(strategy="sequential"))
def test_sequential_runs_are_deterministic(spec: FlowSpec) -> None:
    first, _, _ = run(spec)
    second, _, _ = run(spec)
    assert first == second
