"""Requirement 6: the bad-input corpus. Each file gives its coded row-level errors, the good rows
of the same batch are kept, nothing is half-written, and a rejects file names every problem.

The files and ``corpus/expected.json`` are written by ``corpus/make_corpus.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
ORG = {"report_type": "organisation", "object_id": "ORG-1", "date_of_information": "2020-01-01",
       "organisation": "ORG-1", "author": "registrar", "name": "Field NGO", "kind": "ngo"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One record for the whole corpus: every file uses sample numbers of its own."""
    tmp = tmp_path_factory.mktemp("corpus")
    led = Ledger(Database.open(f"sqlite:///{tmp}/record.sqlite"))
    led.approve(led.submit([ORG], user="registrar").accepted, user="approver")
    return led, tmp


def test_corpus_is_big_enough():
    assert len(EXPECTED) >= 40
    assert {p.name for p in CORPUS.iterdir()} >= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, shared):
    ledger, tmp = shared
    want = EXPECTED[name]
    before = len(ledger.reports())
    rejects = tmp / f"{name}.rejects.csv"
    summary = import_path(ledger, CORPUS / name, "alice", progress=False, rejects_path=rejects)
    assert set(want["codes"]) <= summary.codes, (summary.codes, summary.rejections[:3])
    assert summary.accepted + summary.needs_review == want["good"], summary.rejections[:3]
    stored = len(ledger.reports()) - before
    # every record the gate saw is stored (submitted or rejected with its problems); a file
    # that cannot be read at all stores nothing
    gate_rejected = sum(1 for _, probs in summary.rejections
                        if not any(p.code in _FILE_LEVEL for p in probs))
    assert stored == want["good"] + gate_rejected
    if summary.rejected:
        with rejects.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == summary.rejected
        assert all(r["_problems"] for r in rows)


_FILE_LEVEL = {"FILE_UNREADABLE", "FILE_ENCODING", "FILE_EMPTY", "FILE_FORMAT_UNKNOWN",
               "COLUMN_MISSING", "REPEAT_ORPHAN", "SUBMISSION_MALFORMED", "FORM_UNKNOWN",
               "FORM_VERSION_UNKNOWN", "LAYER_EMPTY", "DUPLICATE_IN_BATCH"}
