"""Event: a named output of a routine, with the parameters it declares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from routilux.routine import Routine


@attrs.frozen(eq=False)
class Event:
    """An output of ``routine`` named ``name``.

    ``params`` is the ordered tuple of declared parameter names, or ``None`` when the event
    declares none (any key may be emitted and validation cannot check mappings against it).
    ``types`` maps declared names to annotated types where ``define_event`` was given a mapping.
    """

    name: str
    routine: Routine = attrs.field(repr=False)
    params: tuple[str, ...] | None
    types: dict[str, object] = attrs.field(factory=dict, repr=False)

    @property
    def output_params(self) -> list[str]:
        """The declared parameter names (empty when undeclared), as the 0.x API exposed them."""
        return list(self.params or ())
