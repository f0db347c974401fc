"""Executors: where activations run. They know nothing of jobs or flows, only items and a
``run`` callable, behind one narrow interface (:class:`Executor`).

* :class:`InlineExecutor` runs items FIFO in the thread that calls :meth:`~InlineExecutor.drain`
  (sequential jobs: deterministic order).
* :class:`PoolExecutor` runs items on at most ``max_workers`` threads of a real
  ``concurrent.futures.ThreadPoolExecutor``. Items wait in one FIFO queue; a worker *drains* the
  queue until it is empty, and a new worker task is submitted only when an item arrives while
  fewer than ``max_workers`` are draining. So a follow-up activation emitted by a handler usually
  runs on the same worker with no per-item future, and idle pools hold no running task (so the
  interpreter can exit: ``concurrent.futures`` joins its idle threads at exit).

Guarantees (PoolExecutor): ``_ready``, ``_draining`` and ``_closed`` are guarded by ``_lock``;
the lock is never held while an item runs or while calling into ``concurrent.futures``. Every
item accepted by :meth:`dispatch` is run exactly once unless it is returned by
``shutdown(cancel_pending=True)``. Invariant: whenever ``_ready`` is non-empty, ``_draining > 0``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Executor(Protocol[T_contra]):
    """What the scheduler needs from an executor."""

    def dispatch(self, item: T_contra) -> bool:
        """Queue ``item`` to run; False if the executor no longer accepts work."""
        ...


class InlineExecutor(Generic[T]):
    """FIFO in the calling thread. Not thread-safe: one job, one thread."""

    __slots__ = ("_queue", "_run")

    def __init__(self, run: Callable[[T], None]) -> None:
        self._run = run
        self._queue: deque[T] = deque()

    def dispatch(self, item: T) -> bool:
        self._queue.append(item)
        return True

    def drain(self) -> None:
        """Run queued items, and those they queue, until none is left."""
        queue, run = self._queue, self._run
        while queue:
            run(queue.popleft())

    def discard(self) -> list[T]:
        """Remove and return every queued item."""
        items = list(self._queue)
        self._queue.clear()
        return items


class PoolExecutor(Generic[T]):
    """A batching front for a thread pool. See the module docstring for guarantees."""

    def __init__(self, max_workers: int, run: Callable[[T], None], name: str = "routilux") -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._run = run
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

    def shutdown(self, wait: bool = True, cancel_pending: bool = False) -> list[T]:
        """Stop accepting work and release the threads.

        With ``cancel_pending`` the queued items are removed and returned unrun; otherwise the
        workers finish them first. With ``wait`` the call returns after the threads have ended.
        """
        with self._lock:
            self._closed = True
            pending = list(self._ready) if cancel_pending else []
            if cancel_pending:
                self._ready.clear()
        self._pool.shutdown(wait=wait)
        return pending
