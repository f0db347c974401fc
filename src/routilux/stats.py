"""Lock-guarded statistics of one routine instance.

Guarantees: every method is thread-safe and atomic under one lock owned by the instance;
``increment`` from N threads adds exactly N; ``snapshot`` returns a deep copy that later updates
never change. The lock is never held while calling user code (``copy.deepcopy`` of stored values
is the only foreign code run under it, as it must be for the snapshot to be consistent).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any, Literal, NamedTuple


class Stats:
    """A dict of named statistics guarded by one lock."""

    __slots__ = ("_lock", "_values")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._values[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._values.get(key, default)

    def increment(self, key: str, amount: int | float = 1) -> int | float:
        """Add ``amount`` to ``key`` (missing counts as 0) and return the new value, atomically."""
        with self._lock:
            current = self._values.get(key, 0)
            if not isinstance(current, (int, float)) or isinstance(current, bool):
                raise TypeError(
                    f"stat {key!r} holds {type(current).__name__} {current!r}; "
                    "increment_stat works only on int or float stats"
                )
            value = current + amount
            self._values[key] = value
            return value

    def reset(self, keys: Iterable[str] | None = None) -> None:
        """Remove ``keys`` (all stats when ``None``)."""
        with self._lock:
            if keys is None:
                self._values.clear()
            else:
                for key in keys:
                    self._values.pop(key, None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._values)

    def replace(self, values: dict[str, Any]) -> None:
        """Replace every stat at once (used when a routine is restored)."""
        with self._lock:
            self._values = copy.deepcopy(values)


class StatChange(NamedTuple):
    """One write to a routine's stats, as plain data: a handler's stat writes pass through its
    job's scope (``runtime/context.py``) as these, so an out-of-process scope can ship them back
    and apply them where the routine lives.

    ``kind`` "set": ``key`` = ``value``; "increment": add ``value`` to ``key``; "reset": remove
    the keys in ``value`` (a tuple), or every stat when ``value`` is None (``key`` unused).
    """

    kind: Literal["set", "increment", "reset"]
    key: str
    value: Any

    def apply(self, stats: Stats) -> Any:
        """Apply this change to ``stats``; returns the new value for an increment, else None."""
        if self.kind == "increment":
            return stats.increment(self.key, self.value)
        if self.kind == "set":
            stats.set(self.key, self.value)
        else:
            stats.reset(self.value)
        return None
