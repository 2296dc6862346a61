"""What an import did, for the CLI to print and the tests to check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportSummary:
    """Counts by kind (``events``, ``duplicates``, ``orders``, ...), rejected lines with
    their errors, and the wall time."""

    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, key: str, amount: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount
