"""The registry: the only way names in saved data become classes and callables.

Loading a flow looks every routine type, merge function, handler function and exception class
up here by name. Nothing else is consulted: a name that was not registered is a clear
:class:`~routilux.errors.SerializationError` saying how to register it, never an import.

* ``@register_routine`` (or ``register_routine(cls, name=...)``) registers a Routine subclass.
  It must be constructible with no arguments (its ``__init__`` defines its slots and events;
  configuration and stats are restored from the data).
* ``register_callable(fn, name=...)`` registers a merge function or a slot handler that is not
  a method of the routine's class.
* ``register_exception(cls, name=...)`` registers an exception class for
  ``ErrorHandler.retryable_exceptions`` (built-in exceptions are known by their names).

Registration is explicit and process-wide; registering a different object under a name that
is taken is an error (re-registering the same object is a no-op). Guarded by one lock.
"""

from __future__ import annotations

import builtins
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar, overload

from routilux.errors import SerializationError
from routilux.routine import Routine

R = TypeVar("R", bound=type[Routine])
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_routines: dict[str, type[Routine]] = {}
_callables: dict[str, Callable[..., Any]] = {}
_exceptions: dict[str, type[BaseException]] = {}

_BUILTIN_EXCEPTIONS: dict[str, type[BaseException]] = {
    name: value
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _add(table: dict[str, Any], name: str, value: Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a registered {what} needs a non-empty string name, got {name!r}")
    with _lock:
        existing = table.get(name)
        if existing is not None and existing is not value:
            raise ValueError(
                f"{what} name {name!r} is already registered for {existing!r}; pass another "
                "name=..."
            )
        table[name] = value


def default_name(obj: Any) -> str:
    """``module.qualname`` of a class or function (a lookup key only; never imported)."""
    return f"{obj.__module__}.{obj.__qualname__}"


@overload
def register_routine(cls: R, *, name: str | None = None) -> R: ...
@overload
def register_routine(cls: None = None, *, name: str | None = None) -> Callable[[R], R]: ...
def register_routine(cls: R | None = None, *, name: str | None = None) -> R | Callable[[R], R]:
    """Register a Routine subclass for serialization; usable as ``@register_routine`` or
    ``@register_routine(name="my.Type")``."""

    def register(routine_class: R) -> R:
        if not (isinstance(routine_class, type) and issubclass(routine_class, Routine)):
            raise TypeError(f"register_routine expects a Routine subclass, got {routine_class!r}")
        required = [
            p.name
            for p in list(inspect.signature(routine_class.__init__).parameters.values())[1:]
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]
        if required:
            raise TypeError(
                f"{routine_class.__qualname__} cannot be registered: its __init__ requires "
                f"{', '.join(required)}; a restored routine is built with no arguments, so keep "
                "such values in set_config() and give the parameters defaults"
            )
        _add(_routines, name or default_name(routine_class), routine_class, "routine type")
        return routine_class

    return register if cls is None else register(cls)


def register_callable(fn: F, *, name: str | None = None) -> F:
    """Register a merge function or handler function so saved data may name it."""
    if not callable(fn):
        raise TypeError(f"register_callable expects a callable, got {fn!r}")
    _add(_callables, name or default_name(fn), fn, "callable")
    return fn


def register_exception(cls: type[BaseException], *, name: str | None = None) -> None:
    """Register an exception class that ``retryable_exceptions`` may name."""
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise TypeError(f"register_exception expects an exception class, got {cls!r}")
    _add(_exceptions, name or default_name(cls), cls, "exception")


def _name_of(table: dict[str, Any], obj: object) -> str | None:
    """The name ``obj`` is registered under in ``table`` (identity, not equality), if any."""
    with _lock:
        return next((name for name, registered in table.items() if registered is obj), None)


def routine_type_name(routine: Routine) -> str:
    """The registered name of ``routine``'s exact class; SerializationError if unregistered."""
    cls = type(routine)
    name = _name_of(_routines, cls)
    if name is not None:
        return name
    raise SerializationError(
        f"routine class {cls.__qualname__} is not registered, so a flow holding it cannot be "
        f"saved; decorate the class with @routilux.register_routine"
    )


def routine_class(name: str) -> type[Routine]:
    with _lock:
        cls = _routines.get(name)
    if cls is None:
        raise SerializationError(
            f"unknown routine type {name!r}: no routine class is registered under that name "
            "(register the class with @routilux.register_routine before loading)"
        )
    return cls


def callable_name(fn: Callable[..., Any], where: str) -> str:
    """The registered name of ``fn``; SerializationError naming ``where`` if unregistered."""
    name = _name_of(_callables, fn)
    if name is not None:
        return name
    label = getattr(fn, "__qualname__", repr(fn))
    raise SerializationError(
        f"{where} is {label}, which cannot be restored from data (a lambda, nested function or "
        "unregistered callable); make it a method of the routine class or register it with "
        "routilux.register_callable"
    )


def lookup_callable(name: str, where: str) -> Callable[..., Any]:
    with _lock:
        fn = _callables.get(name)
    if fn is None:
        raise SerializationError(
            f"{where} names callable {name!r}, which is not registered (register it with "
            "routilux.register_callable before loading)"
        )
    return fn


def exception_name(cls: type[BaseException]) -> str:
    if _BUILTIN_EXCEPTIONS.get(cls.__name__) is cls:
        return cls.__name__
    name = _name_of(_exceptions, cls)
    if name is not None:
        return name
    raise SerializationError(
        f"exception class {cls.__qualname__} in retryable_exceptions is not registered; "
        "register it with routilux.register_exception"
    )


def lookup_exception(name: str) -> type[BaseException]:
    cls = _BUILTIN_EXCEPTIONS.get(name)
    if cls is None:
        with _lock:
            cls = _exceptions.get(name)
    if cls is None:
        raise SerializationError(
            f"unknown exception class {name!r} (built-in exceptions are known by name; "
            "register others with routilux.register_exception)"
        )
    return cls
