"""How much decision history kidgate keeps: part of the configuration, so it lives with the
core (the decision log and the database apply it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MB = 1024 * 1024
#: A month of history: enough to look back at a pattern, short enough to respect privacy.
DEFAULT_RETENTION_DAYS = 30
#: About 1 % of a 16 GB SD card; a busy family's month may need more, then the oldest days go.
DEFAULT_MAX_MB = 200


@dataclass(frozen=True, slots=True)
class Retention:
    """How much decision history is kept; whichever limit is reached first applies."""

    days: int = DEFAULT_RETENTION_DAYS
    max_bytes: int = DEFAULT_MAX_MB * MB

    @property
    def enabled(self) -> bool:
        """``days == 0`` means no decision log at all."""
        return self.days > 0

    @property
    def part_bytes(self) -> int:
        """Today's file is closed early at this size, so the cap deletes tenths, not days."""
        return max(self.max_bytes // 10, 4096)

    def oldest_kept(self, today: dt.date) -> dt.date:
        """Files dated before this are deleted: the last ``days`` full days and today stay."""
        return today - dt.timedelta(days=self.days)
