"""Executors: where activations run. They know nothing of jobs or flows, only items and a
``run`` callable, behind one narrow interface (:class:`Executor`).

* :class:`InlineExecutor` runs items FIFO in the thread that calls :meth:`~Executor.drain_here`
  (sequential jobs: deterministic order). Delayed items wait in a deadline heap; while only
  delayed items are left, the draining thread waits on a ``Condition`` (a :meth:`wake` from
  another thread releases them at once, e.g. when their job is cancelled).
* :class:`PoolExecutor` runs items on at most ``max_workers`` threads of a real
  ``concurrent.futures.ThreadPoolExecutor``. Items wait in one FIFO queue; a worker *drains* the
  queue until it is empty, and a new worker task is submitted only when an item arrives while
  fewer than ``max_workers`` are draining. So a follow-up activation emitted by a handler usually
  runs on the same worker with no per-item future, and idle pools hold no running task (so the
  interpreter can exit: ``concurrent.futures`` joins its idle threads at exit). Delayed items go
  through :class:`~routilux.runtime.timers.Timers`, so no worker ever sleeps for them.

Guarantees (PoolExecutor): ``_ready``, ``_draining`` and ``_closed`` are guarded by ``_lock``;
the lock is never held while an item runs or while calling into ``concurrent.futures``. Every
item accepted is either run exactly once or handed to ``discard`` exactly once (when the pool
closed first). Invariant: whenever ``_ready`` is non-empty, ``_draining > 0``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

from routilux.checks import LONGEST_WAIT
from routilux.runtime.timers import Timers

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Executor(Protocol[T_contra]):
    """What the scheduler needs from an executor."""

    def dispatch(self, item: T_contra) -> bool | None:
        """Queue ``item`` to run; ``False`` if the executor no longer accepts work (any other
        result means it was accepted)."""
        ...

    def dispatch_later(self, item: T_contra, delay: float) -> Callable[[], bool]:
        """Queue ``item`` after ``delay`` seconds, without blocking any worker. Returns a
        ``cancel()`` that is True when it withdrew the item before it was queued (the caller
        then owns its accounting); False means the item is, or will be, queued."""
        ...

    def drain_here(self) -> None:
        """Run queued work in the calling thread if this executor does so (inline); else no-op."""
        ...

    def wake(self) -> None:
        """Release delayed items now (their job stopped; they will be dropped when run)."""
        ...


def _never() -> bool:
    return False


class InlineExecutor(Generic[T]):
    """FIFO in one draining thread at a time.

    ``dispatch`` may be called from any thread; :meth:`drain_here` returns at once if another
    thread is already draining (that thread runs the new items), so a job is never run by two
    threads at once. ``_delayed``, ``_woken`` and ``_draining`` are guarded by ``_changed``.
    """

    def __init__(self, run: Callable[[T], None]) -> None:
        self._run = run
        self._queue: deque[T] = deque()
        self._delayed: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._changed = threading.Condition(threading.Lock())
        self._woken = False
        self._draining = False
        #: Queue an item (never refused): the deque's own append, with no Python frame.
        self.dispatch: Callable[[T], None] = self._queue.append

    def dispatch_later(self, item: T, delay: float) -> Callable[[], bool]:
        with self._changed:
            deadline = time.monotonic() + delay
            heapq.heappush(self._delayed, (deadline, next(self._order), item))
        return _never  # a wake() releases delayed items at once instead

    def wake(self) -> None:
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def drain_here(self) -> None:
        """Run queued items, those they queue, and delayed ones when due, until none is left."""
        with self._changed:
            if self._draining:
                return
            self._draining = True
        queue, run = self._queue, self._run
        try:
            while True:
                while queue:
                    run(queue.popleft())
                if not self._release_delayed():
                    return
        finally:
            with self._changed:
                self._draining = False
            if queue:  # dispatched by another thread after the last check: run it too
                self.drain_here()

    def _release_delayed(self) -> bool:
        """Wait for the earliest delayed item(s) and queue them; False when none is left."""
        with self._changed:
            if self._queue:
                return True
            while self._delayed:
                if self._woken:
                    self._queue.extend(item for _, _, item in sorted(self._delayed))
                    self._delayed.clear()
                    self._woken = False
                    return True
                remaining = self._delayed[0][0] - time.monotonic()
                if remaining <= 0:
                    self._queue.append(heapq.heappop(self._delayed)[2])
                    return True
                self._changed.wait(min(remaining, LONGEST_WAIT))
            return False


class PoolExecutor(Generic[T]):
    """A batching front for a thread pool. See the module docstring for guarantees."""

    def __init__(
        self,
        max_workers: int,
        run: Callable[[T], None],
        discard: Callable[[T], None],
        timers: Timers,
        name: str = "routilux",
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._run = run
        self._discard = discard
        self._timers = timers
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._ready: deque[T] = deque()
        self._draining = 0
        self._closed = False

    def dispatch(self, item: T) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._ready.append(item)
            if self._draining >= self.max_workers:
                return True
            self._draining += 1
        self._start_worker()
        return True

    def dispatch_later(self, item: T, delay: float) -> Callable[[], bool]:
        return self._timers.call_later(delay, lambda: self._dispatch_or_discard(item)).cancel

    def _dispatch_or_discard(self, item: T) -> None:
        if not self.dispatch(item):
            self._discard(item)

    def drain_here(self) -> None:
        """Workers run the queue; nothing runs in the caller."""

    def wake(self) -> None:
        """Delayed items are released by their timers; stopped jobs drop them when they run."""

    def _start_worker(self) -> None:
        try:
            self._pool.submit(self._drain)
        except RuntimeError:
            # The pool refuses new tasks (interpreter exit). A worker is already draining
            # unless this was the only one; then run the queue here rather than strand it.
            with self._lock:
                self._draining -= 1
                stranded = self._draining == 0 and bool(self._ready)
                if stranded:
                    self._draining += 1
            if stranded:
                self._drain()

    def _drain(self) -> None:
        ready, lock, run = self._ready, self._lock, self._run
        while True:
            with lock:
                if not ready:
                    self._draining -= 1
                    return
                item = ready.popleft()
            try:
                run(item)
            except BaseException:
                # ``run`` is meant never to raise; if it does, keep the invariant and go on.
                with lock:
                    self._draining -= 1
                    respawn = bool(ready) and self._draining == 0 and not self._closed
                    if respawn:
                        self._draining += 1
                if respawn:
                    self._start_worker()
                raise

    @property
    def closed(self) -> bool:
        return self._closed

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work, hand queued items to ``discard`` and release the threads.

        With ``wait`` the call returns after the threads have ended (running items finish).
        """
        with self._lock:
            self._closed = True
            pending = list(self._ready)
            self._ready.clear()
        for item in pending:
            self._discard(item)
        self._pool.shutdown(wait=wait)
