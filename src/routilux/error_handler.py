"""Error policy: what happens to a job when a slot handler raises.

An :class:`ErrorHandler` is an immutable *policy*; it holds no per-failure state, so one
instance may be shared by many routines, flows and jobs (attempt counters live with each
activation in the runtime). Priority when a handler fails: the routine's handler, else the
flow's, else ``STOP``.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import attrs

from routilux.checks import LONGEST_WAIT


class ErrorStrategy(enum.StrEnum):
    """``STOP`` fails the job; ``CONTINUE`` records and goes on; ``SKIP`` marks the routine skipped
    for that activation and goes on; ``RETRY`` re-runs the activation with back-off."""

    STOP = "stop"
    CONTINUE = "continue"
    RETRY = "retry"
    SKIP = "skip"


def _to_strategy(value: Any) -> ErrorStrategy:
    if isinstance(value, ErrorStrategy):
        return value
    try:
        return ErrorStrategy(value)
    except ValueError:
        valid = ", ".join(repr(s.value) for s in ErrorStrategy)
        raise ValueError(f"unknown error strategy {value!r}; valid values are {valid}") from None


def _seconds(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    bad_type = isinstance(value, bool) or not isinstance(value, (int, float))
    if bad_type or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"ErrorHandler.{attribute.name} must be a finite number >= 0, got {value!r}"
        )


def _count(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"ErrorHandler.{attribute.name} must be an int >= 0, got {value!r}")


def _exception_types(value: Any) -> tuple[type[BaseException], ...]:
    types = (value,) if isinstance(value, type) else tuple(value)
    for item in types:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"retryable_exceptions must hold exception classes, got {item!r}")
    return types


@attrs.frozen
class ErrorHandler:
    """An error policy. ``max_retries`` extra attempts are made for ``RETRY``, the n-th after
    ``retry_delay * retry_backoff ** (n - 1)`` seconds, only for ``retryable_exceptions``; when
    retries are exhausted a critical routine fails the job, a non-critical one is recorded."""

    strategy: ErrorStrategy = attrs.field(default=ErrorStrategy.STOP, converter=_to_strategy)
    max_retries: int = attrs.field(default=3, validator=_count)
    retry_delay: float = attrs.field(default=1.0, validator=_seconds)
    retry_backoff: float = attrs.field(default=2.0, validator=_seconds)
    retryable_exceptions: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), converter=_exception_types
    )
    is_critical: bool = False

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), at most
        :data:`~routilux.checks.LONGEST_WAIT` (a back-off that overflows waits that long)."""
        try:
            delay = float(self.retry_delay * self.retry_backoff ** (attempt - 1))
        except OverflowError:
            return LONGEST_WAIT
        return min(delay, LONGEST_WAIT)

    def can_retry(self, error: BaseException, retries_done: int) -> bool:
        """Whether a RETRY policy re-runs an activation that has already been retried
        ``retries_done`` times and now raised ``error``."""
        return (
            self.strategy is ErrorStrategy.RETRY
            and retries_done < self.max_retries
            and isinstance(error, self.retryable_exceptions)
        )


STOP_POLICY = ErrorHandler()
