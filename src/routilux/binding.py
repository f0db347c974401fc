"""How a slot handler is called with a payload: analysed once, applied per activation.

:func:`analyse` inspects a handler's signature once (at ``define_slot``) and returns a
:class:`HandlerBinding`; :meth:`HandlerBinding.invoker` turns it into a small closure that the
compiled plan calls on every activation without touching ``inspect`` again.

Rules, in order:

* a ``**kwargs`` parameter: the whole payload as keywords (``KWARGS``);
* no parameter: called with nothing (``NONE``);
* exactly one parameter named ``data``: the payload dict (``DATA``);
* exactly one other parameter: that key's value if present, else the payload dict (``SINGLE``);
* several parameters: the matching keys as keywords (``NAMED``).

A parameter without a default that the payload lacks is an error of that activation
(:class:`~routilux.errors.HandlerCallError`, naming routine, slot and parameter); validation
reports it before running where the connected events declare their params.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from routilux.errors import HandlerCallError

Payload: TypeAlias = dict[str, Any]
Handler: TypeAlias = Callable[..., Any]
Invoker: TypeAlias = Callable[[Payload], Any]

_NAMED_KINDS = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


class BindingKind(enum.Enum):
    NONE = "none"
    KWARGS = "kwargs"
    DATA = "data"
    SINGLE = "single"
    NAMED = "named"


@attrs.frozen
class HandlerBinding:
    """The result of analysing a handler's signature.

    ``params`` are the handler's named parameters in order; ``required`` those without a default
    that the payload must supply (always empty for ``NONE``, ``DATA`` and ``SINGLE``);
    ``keyword_only_single`` marks a ``SINGLE`` or ``DATA`` parameter that must be passed by keyword.
    """

    kind: BindingKind
    params: tuple[str, ...] = ()
    required: frozenset[str] = frozenset()
    keyword_only_single: bool = False

    def accepts(self, key: str) -> bool:
        """Whether a payload key reaches the handler under its own name."""
        return self.kind in (BindingKind.KWARGS, BindingKind.DATA) or key in self.params

    def invoker(self, handler: Handler, routine_id: str, slot_name: str) -> Invoker:
        """A closure calling ``handler`` with a payload according to this binding."""
        required = self.required

        def check(payload: Payload) -> None:
            if not required.issubset(payload):
                missing = sorted(required.difference(payload))[0]
                raise HandlerCallError(routine_id, slot_name, missing, payload)

        if self.kind is BindingKind.NONE:
            return lambda payload: handler()
        if self.kind is BindingKind.DATA:
            if self.keyword_only_single:
                return lambda payload: handler(data=payload)
            return handler
        if self.kind is BindingKind.KWARGS:
            if not required:
                return lambda payload: handler(**payload)

            def call_kwargs(payload: Payload) -> Any:
                check(payload)
                return handler(**payload)

            return call_kwargs
        if self.kind is BindingKind.SINGLE:
            (name,) = self.params
            if self.keyword_only_single:
                return lambda payload: handler(**{name: payload.get(name, payload)})
            return lambda payload: handler(payload.get(name, payload))
        params = self.params

        def call_named(payload: Payload) -> Any:
            check(payload)
            return handler(**{key: payload[key] for key in params if key in payload})

        return call_named


def analyse(handler: Handler, *, where: str) -> HandlerBinding:
    """Analyse ``handler``'s signature once; ``where`` names the slot for error messages.

    Raises ``TypeError`` if ``handler`` is not callable, or if it has several parameters of which
    a required one is positional-only (it could never be passed by name).
    """
    if not callable(handler):
        raise TypeError(f"handler for {where} must be callable, not {type(handler).__name__}")
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        # Builtins without introspectable signatures take the payload as keywords.
        return HandlerBinding(BindingKind.KWARGS)
    parameters = list(signature.parameters.values())
    named = [p for p in parameters if p.kind in _NAMED_KINDS]
    required = frozenset(p.name for p in named if p.default is inspect.Parameter.empty)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        _reject_positional_only(named, where)
        return HandlerBinding(BindingKind.KWARGS, tuple(p.name for p in named), required)
    if not named:
        return HandlerBinding(BindingKind.NONE)
    if len(named) == 1:
        (only,) = named
        keyword_only = only.kind is inspect.Parameter.KEYWORD_ONLY
        if only.name == "data":
            return HandlerBinding(BindingKind.DATA, ("data",), keyword_only_single=keyword_only)
        return HandlerBinding(BindingKind.SINGLE, (only.name,), keyword_only_single=keyword_only)
    _reject_positional_only(named, where)
    return HandlerBinding(BindingKind.NAMED, tuple(p.name for p in named), required)


def _reject_positional_only(named: list[inspect.Parameter], where: str) -> None:
    for p in named:
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.default is inspect.Parameter.empty:
            raise TypeError(
                f"handler for {where} has required positional-only parameter {p.name!r}; "
                "payload keys are passed by name, so make it a normal parameter"
            )
