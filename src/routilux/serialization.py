"""The versioned JSON format's building blocks: safe values, safe files, strict readers.

Only plain JSON is written and read: ``dict`` (str keys), ``list``, ``str``, ``int``, finite
``float``, ``bool`` and ``None``. Nothing is pickled, no module named in data is imported, no
expression is evaluated. Readers are strict: unknown keys, missing keys and wrong types are
:class:`~routilux.errors.SerializationError` naming the path; so are files over
:data:`MAX_FILE_BYTES`, nesting deeper than :data:`MAX_DEPTH`, integers longer than
:data:`MAX_INT_DIGITS` digits, non-finite numbers and objects that repeat a key.

This module is a leaf (it imports only ``errors``); ``job_state`` and ``flow`` build their
formats on it, and ``registry`` resolves the names the formats contain.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from routilux.errors import SerializationError

FORMAT_VERSION: Final = 1
MAX_FILE_BYTES: Final = 256 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_INT_DIGITS: Final = 40

T = TypeVar("T")


def check_json(value: Any, where: str, depth: int = 0) -> None:
    """Raise SerializationError unless ``value`` round-trips through JSON unchanged.

    ``where`` names the location for the message (e.g. ``"config of routine 'r', key 'k'"``).
    Tuples and sets are refused (they would come back as lists).
    """
    if depth > MAX_DEPTH:
        raise SerializationError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INT_DIGITS:
            raise SerializationError(f"{where}: integer longer than {MAX_INT_DIGITS} digits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(f"{where}: {value!r} is not a finite number; JSON has none")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(
                    f"{where}: key {key!r} is {type(key).__name__}; JSON keys must be strings"
                )
            check_json(item, f"{where}, key {key!r}", depth + 1)
        return
    hint = " (use a list)" if isinstance(value, (tuple, set, frozenset)) else ""
    raise SerializationError(
        f"{where} holds {type(value).__name__} {_short(value)}, which is not JSON-representable"
        f"{hint}; store str, int, float, bool, None, list or dict with str keys"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text of a document already checked with :func:`check_json`."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1)


def _reject_constant(name: str) -> Any:
    raise SerializationError(f"the file contains {name}, which is not a finite number")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise SerializationError(
            f"the file contains an integer longer than {MAX_INT_DIGITS} digits"
        )
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationError(f"the file contains {text}, which is not a finite number")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise SerializationError(
                f"the file repeats the key {key!r} in one object (JSON readers disagree on "
                "which value wins, so routilux refuses it)"
            )
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict means a repeated key")


def loads(text: str, what: str) -> Any:
    """Parse JSON text safely; every failure is a SerializationError naming ``what``."""
    if len(text) > MAX_FILE_BYTES:
        raise SerializationError(f"{what} is larger than {MAX_FILE_BYTES} bytes")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
            object_pairs_hook=_unique_keys,
        )
    except SerializationError as error:
        raise SerializationError(f"{what}: {error}") from None
    except RecursionError:
        raise SerializationError(f"{what} is nested too deeply") from None
    except ValueError as error:
        raise SerializationError(f"{what} is not valid JSON ({error})") from None
    check_json(value, what)
    return value


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, flushed and
    fsynced, then renamed over ``path`` (a reader sees the old file or the new, never half)."""
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_text(path: str | os.PathLike[str], what: str) -> str:
    target = Path(path)
    try:
        size = target.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SerializationError(f"{what} {target} is larger than {MAX_FILE_BYTES} bytes")
        return target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SerializationError(f"{what} {target} is not UTF-8 text") from None


class Reader:
    """Strict access to one JSON object: every key is accounted for, every type checked.

    Use :meth:`get` for each expected key, then :meth:`done` to refuse unknown ones.
    """

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SerializationError(f"{path} must be an object, not {_json_type(value)}")
        self._value: dict[str, Any] = value
        self._path = path
        self._seen: set[str] = set()

    @property
    def path(self) -> str:
        return self._path

    def get(self, key: str, kind: type[T] | tuple[type, ...]) -> T:
        """The value of a required ``key`` of type ``kind``."""
        value = self.optional(key, kind)
        if value is None:
            if key not in self._value:
                raise SerializationError(f"{self._path}: missing key {key!r}")
            raise SerializationError(f"{self._path}.{key} must be {_kind_name(kind)}, not null")
        return value

    def optional(self, key: str, kind: type[T] | tuple[type, ...]) -> T | None:
        """The value of ``key`` (``None`` when absent or null), else of type ``kind``."""
        self._seen.add(key)
        value = self._value.get(key)
        if value is None:
            return None
        if not _is(value, kind):
            raise SerializationError(
                f"{self._path}.{key} must be {_kind_name(kind)}, not {_json_type(value)}"
            )
        return value  # type: ignore[no-any-return]

    def child(self, key: str) -> Reader:
        return Reader(self.get(key, dict), f"{self._path}.{key}")

    def items(self, key: str) -> list[Reader]:
        return [
            Reader(item, f"{self._path}.{key}[{index}]")
            for index, item in enumerate(self.get(key, list))
        ]

    def done(self) -> None:
        unknown = sorted(set(self._value) - self._seen)
        if unknown:
            raise SerializationError(
                f"{self._path}: unknown key(s) {', '.join(map(repr, unknown))}"
            )


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # True is not an int here
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, kinds)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
}


def check_header(document: Reader, kind: str) -> None:
    """Check the ``format`` and ``version`` keys of a document of ``kind``."""
    found = document.get("format", str)
    if found != kind:
        raise SerializationError(f"{document.path} is a {found!r} document, not {kind!r}")
    version = document.get("version", int)
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"{document.path} has format version {version}; this routilux reads version "
            f"{FORMAT_VERSION}"
        )


def guarded(what: str, build: Callable[[], T]) -> T:
    """Run a loader, turning any stray KeyError/TypeError/ValueError into a SerializationError
    (a loader bug or an input it did not foresee must still be a clear, safe refusal)."""
    try:
        return build()
    except SerializationError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SerializationError(f"{what} is malformed: {type(error).__name__}: {error}") from None
