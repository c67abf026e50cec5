"""The content domain's view of its tables inside one transaction."""

from __future__ import annotations

from servicekit.clock import Clock
from servicekit.database import Transaction
from servicekit.runner import Outbound, UnitOfWork

from .catalog import CatalogStore
from .progress import ProgressStore


class SqlUnitOfWork(CatalogStore, ProgressStore, UnitOfWork):
    """``outbound`` is the service's translator to contract events: recording a lesson online
    writes its event in the same statement as the progress row (see ``store/progress.py``).
    ``clock`` is the service's sense of time, for the use cases."""

    def __init__(self, tx: Transaction, *, outbound: Outbound, clock: Clock) -> None:
        super().__init__(tx)
        self.outbound = outbound
        self.clock = clock
