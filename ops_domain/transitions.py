"""Status machines: an explicit table of allowed moves per entity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ops_domain.errors import IllegalTransition, InvalidInput


@dataclass(frozen=True)
class StateMachine:
    """Allowed transitions of one status field; terminal moves need a note."""

    name: str
    moves: Mapping[str, frozenset[str]]
    needs_note: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls, name: str, moves: Mapping[str, Iterable[str]], needs_note: Iterable[str] = ()
    ) -> StateMachine:
        return cls(name, {k: frozenset(v) for k, v in moves.items()}, frozenset(needs_note))

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.moves) | frozenset().union(*self.moves.values())

    def sources_of(self, to_state: str) -> frozenset[str]:
        """Every state from which ``to_state`` may be reached: the WHERE of a set-based move."""
        return frozenset(src for src, targets in self.moves.items() if to_state in targets)

    def check(self, from_state: str, to_state: str, note: str | None = None) -> None:
        if to_state not in self.moves.get(from_state, frozenset()):
            raise IllegalTransition(self.name, from_state, to_state)
        if to_state in self.needs_note and not (note and note.strip()):
            raise InvalidInput(f"{self.name}: moving to {to_state} needs a note")
