"""Slot merge strategies: how a delivery combines with what the slot already holds for a job.

A strategy maps ``(state, payload) -> (new_state, handler_data)``. The state belongs to one job
and one slot and is private to the runtime, which may let a strategy update it in place; the
``handler_data`` returned shares no mutable list with the state, so a handler's arguments never
change after it is called. Locking is the caller's job (the runtime merges under a per-job,
per-slot lock).

* ``"override"`` (default): the state is the new payload; the handler gets a copy of it.
* ``"append"``: every key of the payload is appended to that key's list; the handler gets copies
  of all lists accumulated so far in this job.
* a callable ``f(old, new) -> merged``: ``old`` is ``{}`` on the first delivery of a job; the
  result must be a dict; the handler gets a deep copy of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final, Literal, TypeAlias

import attrs

from routilux.errors import MergeError

Payload: TypeAlias = dict[str, Any]
MergeFunction: TypeAlias = Callable[[Payload, Payload], Payload]
MergeSpec: TypeAlias = "Literal['override', 'append'] | MergeFunction"

BUILTIN_STRATEGIES: Final = ("override", "append")


@attrs.frozen
class MergeStrategy:
    """A normalised merge strategy. ``kind`` is ``"override"``, ``"append"`` or ``"custom"``."""

    kind: Literal["override", "append", "custom"]
    function: MergeFunction | None = None

    @property
    def stateful(self) -> bool:
        """True when deliveries of one job depend on earlier ones (needs per-job state)."""
        return self.kind != "override"

    @property
    def name(self) -> str:
        """The user-facing name: the strategy string, or the merge function's qualified name."""
        if self.function is None:
            return self.kind
        return getattr(self.function, "__qualname__", repr(self.function))

    def merge(self, state: Payload | None, payload: Payload) -> tuple[Payload, Payload]:
        """Return ``(new_state, handler_data)`` for one delivery. See the module docstring."""
        if self.kind == "override":
            return payload, dict(payload)
        if self.kind == "append":
            merged: Payload = {} if state is None else state
            for key, value in payload.items():
                merged.setdefault(key, []).append(value)
            return merged, {key: list(values) for key, values in merged.items()}
        assert self.function is not None
        result = self.function({} if state is None else state, payload)
        if not isinstance(result, dict):
            raise MergeError(
                f"merge function {self.name} returned {type(result).__name__}; "
                "a merge function must return a dict of the merged payload"
            )
        return result, copy.deepcopy(result)


OVERRIDE: Final = MergeStrategy("override")
APPEND: Final = MergeStrategy("append")


def resolve(spec: object, *, where: str) -> MergeStrategy:
    """Turn a user's ``merge_strategy`` argument into a :class:`MergeStrategy`.

    Raises ``ValueError`` naming ``where`` and the valid choices for an unknown string, and
    ``TypeError`` for anything that is neither a string nor a callable.
    """
    if spec == "override":
        return OVERRIDE
    if spec == "append":
        return APPEND
    if isinstance(spec, str):
        raise ValueError(
            f"unknown merge_strategy {spec!r} for {where}; valid values are "
            f"{', '.join(repr(s) for s in BUILTIN_STRATEGIES)} or a callable f(old, new) -> dict"
        )
    if callable(spec):
        return MergeStrategy("custom", spec)
    raise TypeError(
        f"merge_strategy for {where} must be 'override', 'append' or a callable, "
        f"not {type(spec).__name__}"
    )
