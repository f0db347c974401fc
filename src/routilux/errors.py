"""Exception hierarchy and validation problems.

Every exception routilux raises on purpose derives from :class:`RoutiluxError` and from the
built-in type a caller would naturally catch (``ValueError`` for bad input, ``RuntimeError`` for
a call made in the wrong state, ``TypeError`` for a handler that cannot be called with a payload).
Messages name the offending thing and say what would be valid.

This module imports nothing from routilux: every other module may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

Severity = Literal["error", "warning"]


class RoutiluxError(Exception):
    """Base class of every error routilux raises deliberately."""


@attrs.frozen
class Problem:
    """One finding of flow validation.

    ``code`` is stable across releases (kebab-case, e.g. ``"cycle"``) so tools may match on it;
    ``location`` names the routine, event, slot or connection concerned; ``hint`` says how to
    fix it.
    """

    code: str
    severity: Severity
    location: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.code} at {self.location}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class FlowValidationError(RoutiluxError, ValueError):
    """The flow has validation errors; nothing was run.

    ``problems`` holds every error found (warnings are not included), in a stable order.
    """

    def __init__(self, flow_id: str, problems: Iterable[Problem]) -> None:
        self.flow_id = flow_id
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"flow {flow_id!r} has {count} validation {noun}:\n{lines}")


class EventPayloadError(RoutiluxError, ValueError):
    """An emit carried a key its event does not declare."""


class NotInJobError(RoutiluxError, RuntimeError):
    """An engine call (``emit`` and friends) was made outside any running job."""


class HandlerCallError(RoutiluxError, TypeError):
    """A slot handler could not be called with the payload it was delivered.

    Raised inside the activation (so the job's error policy applies) and recorded with the
    routine, slot and parameter name.
    """

    def __init__(
        self, routine_id: str, slot_name: str, parameter: str, keys: Iterable[str]
    ) -> None:
        self.routine_id = routine_id
        self.slot_name = slot_name
        self.parameter = parameter
        shown = ", ".join(sorted(keys)) or "none"
        super().__init__(
            f"handler of slot {slot_name!r} on routine {routine_id!r} requires parameter "
            f"{parameter!r}, but the delivered payload has keys: {shown}; give the parameter a "
            f"default, or emit/map a key named {parameter!r}"
        )


class JobTimeoutError(RoutiluxError, TimeoutError):
    """A job ran past its ``timeout`` / ``execution_timeout``; it was failed and its queued work
    dropped. Recorded on the job (``job_state.error``), not raised to the caller."""


class ActivationLimitError(RoutiluxError, RuntimeError):
    """A job dispatched more activations than its flow's ``max_activations`` (a runaway loop);
    it was failed. Recorded on the job, not raised to the caller."""


class MergeError(RoutiluxError, TypeError):
    """A custom merge function returned something other than a dict."""


class SerializationError(RoutiluxError, ValueError):
    """Data could not be saved or loaded: not JSON-representable, malformed, truncated, of an
    unsupported version, naming an unregistered type, or failing a safety limit. The message
    names where (routine, key, path) and what would be valid. Loading never leaves anything
    half-built."""
