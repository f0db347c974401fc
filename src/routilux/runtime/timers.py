"""Timers: run a callback once after a delay, on one helper thread, without polling.

Used for job deadlines (and, later, delayed retries). The helper thread waits on a
``Condition`` until the earliest deadline or a new, earlier timer; it exists only while timers
are pending and ends when none is left, so an idle engine holds no thread.

Guarantees: ``_heap``, ``_thread`` and ``_cancelled`` are guarded by ``_lock``; callbacks run in
the helper thread with no lock held, in deadline order; a callback that raises is reported
through ``threading.excepthook`` and does not stop later timers. A cancelled timer never runs
(cancel after it started running has no effect).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from routilux.checks import LONGEST_WAIT


class TimerHandle:
    """A pending callback. :meth:`cancel` prevents it from running if it has not started."""

    __slots__ = ("_timers", "callback", "cancelled", "deadline")

    def __init__(self, timers: Timers, deadline: float, callback: Callable[[], object]) -> None:
        self._timers = timers
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> bool:
        """True if this call stopped the callback from running (it had not started)."""
        return self._timers.cancel(self)


class Timers:
    """A set of one-shot timers served by one on-demand thread. Thread-safe."""

    def __init__(self, name: str = "routilux-timers") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self._cancelled = 0
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` once, ``delay`` seconds from now."""
        handle = TimerHandle(self, time.monotonic() + max(0.0, delay), callback)
        with self._lock:
            heapq.heappush(self._heap, (handle.deadline, next(self._order), handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._wakeup.notify()
        return handle

    def cancel(self, handle: TimerHandle) -> bool:
        with self._lock:
            if handle.cancelled:
                return False
            handle.cancelled = True
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0
            self._wakeup.notify()
            return True

    @property
    def pending(self) -> int:
        """Timers neither run nor cancelled."""
        with self._lock:
            return sum(not entry[2].cancelled for entry in self._heap)

    def _serve(self) -> None:
        while True:
            with self._lock:
                due = self._next_due()
                if due is None:
                    self._thread = None
                    return
            try:
                due.callback()
            except Exception as error:
                threading.excepthook(
                    threading.ExceptHookArgs(
                        (type(error), error, error.__traceback__, threading.current_thread())
                    )
                )

    def _next_due(self) -> TimerHandle | None:
        # Caller holds the lock. Waits until the earliest live timer is due; None when empty.
        while self._heap:
            deadline, _, handle = self._heap[0]
            if handle.cancelled:
                heapq.heappop(self._heap)
                self._cancelled -= 1
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                heapq.heappop(self._heap)
                handle.cancelled = True  # ran: a later cancel() is a no-op
                return handle
            self._wakeup.wait(min(remaining, LONGEST_WAIT))
        return None
