"""Slot: a named input of a routine, with its handler binding and merge strategy.

A slot is part of the builder: it is created by :meth:`Routine.define_slot` and never changes
afterwards. Merge *state* is not kept here; it belongs to each job (see ``runtime``), so jobs
never see each other's deliveries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from routilux.binding import Handler, HandlerBinding
from routilux.merge import MergeStrategy

if TYPE_CHECKING:
    from routilux.routine import Routine


@attrs.frozen(eq=False)
class Slot:
    """An input of ``routine`` named ``name``.

    ``handler`` is ``None`` for a slot that only receives data (deliveries are merged and
    counted, nothing is called). ``binding`` is the handler's signature analysis, done once.
    """

    name: str
    routine: Routine = attrs.field(repr=False)
    handler: Handler | None = attrs.field(repr=False)
    binding: HandlerBinding
    merge: MergeStrategy

    @property
    def merge_strategy(self) -> str:
        """The merge strategy's name: ``"override"``, ``"append"`` or the function's name."""
        return self.merge.name
