"""Connection: one wire from a routine's event to a routine's slot."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs


def _freeze_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class Connection:
    """Event ``source_id.event`` delivers to slot ``target_id.slot``.

    ``param_mapping`` is ``{event_key: slot_key}``: a mapped key arrives under its new name only;
    unmapped keys pass through unchanged. ``feedback`` marks an edge that deliberately closes a
    loop (validation does not report cycles made only of such edges).
    """

    source_id: str
    event: str
    target_id: str
    slot: str
    param_mapping: Mapping[str, str] = attrs.field(
        converter=_freeze_mapping, factory=dict, hash=False
    )
    feedback: bool = False

    @property
    def label(self) -> str:
        """``"src.event -> dst.slot"``, used in messages and pictures."""
        return f"{self.source_id}.{self.event} -> {self.target_id}.{self.slot}"

    def map_payload(self, payload: dict[str, object]) -> dict[str, object]:
        """The payload as the slot receives it: mapped keys renamed, the rest passed through."""
        mapping = self.param_mapping
        if not mapping:
            return dict(payload)
        return {mapping.get(key, key): value for key, value in payload.items()}
