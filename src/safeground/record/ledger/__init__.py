"""The ledger: the one entry point for reports and the state derived from them.

Every change arrives as a dated report (``safeground.record.reports``). ``Ledger`` is one
object made of four parts, each in its own module:

* ``submitting`` — records checked at the gate and stored as submitted or rejected reports;
* ``deciding`` — submitted reports approved (and folded into the record) or rejected;
* ``deriving`` — approved reports folded, in order of date of information (then approval
  order), into the derived state: one row per object, attribute by attribute, and for
  hazardous areas the land release engine's figures. A report dated before what the record
  already knows of its object is not laid on top: the object is rebuilt from all its approved
  reports in date order, so late entry of old paper is safe. ``as_of`` replays the approved
  reports up to a date, in memory, to answer "what did we know on date X?";
* ``reading`` — reports, histories and objects, now or as known on a date.

``rows`` holds what the parts share about report rows, ``bulk`` the fast path that stores many
rows at once.
"""

from __future__ import annotations

from safeground.record import geometry as geo
from safeground.record.gate import LinkChecker
from safeground.record.ledger.batches import Batches, RollbackResult
from safeground.record.ledger.deciding import ApproveResult, Deciding
from safeground.record.ledger.deriving import Deriving
from safeground.record.ledger.reading import Reading
from safeground.record.ledger.submitting import (
    Rejection,
    SubmitResult,
    Submitting,
    no_cyclic_gc,
)
from safeground.record.storage import Database
from safeground.settings import Settings

__all__ = ["ApproveResult", "Ledger", "Rejection", "RollbackResult", "SubmitResult",
           "no_cyclic_gc"]


class Ledger(Submitting, Deciding, Deriving, Reading, Batches):
    """The national record: the one entry point for reports and the state derived from them."""

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings or Settings()
        self.projector = geo.Projector(self.settings.utm_epsg)
        #: (record version, LinkChecker) after this ledger's last submit: see _link_checker
        self._links: tuple[tuple[int, int, int], LinkChecker] | None = None
