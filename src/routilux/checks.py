"""Argument checks shared by the public API: each failure names the argument and what is valid.

A leaf module (imports nothing from routilux).
"""

from __future__ import annotations

import math
import threading
from typing import Any

#: The longest wait the platform's locks accept (about 292 years on 64-bit Linux).
LONGEST_WAIT = threading.TIMEOUT_MAX


def check_timeout(value: Any, name: str, *, allow_zero: bool = True) -> float | None:
    """``None`` or a number of seconds (``>= 0``, or ``> 0`` without ``allow_zero``).

    A timeout longer than :data:`LONGEST_WAIT` (``float("inf")`` included) means no timeout
    and is returned as ``None``, since no lock could wait that long.
    """
    if value is None:
        return None
    bad_type = isinstance(value, bool) or not isinstance(value, (int, float))
    if bad_type or math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a number of seconds {bound} or None, got {value!r}")
    return None if value > LONGEST_WAIT else float(value)


def check_str(value: Any, name: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value
