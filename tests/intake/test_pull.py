"""Requirement 2: pull from the ODK Central and KoboToolbox REST APIs, incrementally, following
pagination — against local fake servers that answer in the real formats (no internet)."""

from __future__ import annotations

import dataclasses

import pytest
from fake_servers import FakeCentral, FakeKobo

from safeground.intake import samples
from safeground.intake.pull import KoboToolbox, OdkCentral, PullError, pull


def _later(sub, ts):
    return dataclasses.replace(sub, submitted_at=ts)


def test_central_pull_follows_pages_and_takes_everything_in(ledger):
    subs = [samples.nts(i) for i in range(7)]
    with FakeCentral({"sg_nts": subs}, page_size_cap=3) as srv:
        client = OdkCentral(srv.url, "field@example.org", "secret", project=4, page_size=3)
        res = pull(ledger, client.submissions("sg_nts"), user="alice", label="central sg_nts")
        pages = [r for r in srv.requests if "Submissions" in r]
    assert res.pulled == 7 and len(pages) == 3
    assert "%24expand=%2A" in pages[0] or "$expand=*" in pages[0]
    assert res.summary.accepted + res.summary.needs_review == 7 * 5
    assert res.cursor == max(s.submitted_at for s in subs)


def test_central_pull_is_incremental_by_submission_time(ledger):
    subs = [samples.nts(i) for i in range(4)]
    with FakeCentral({"sg_nts": list(subs)}) as srv:
        client = OdkCentral(srv.url, "field@example.org", "secret")
        first = pull(ledger, client.submissions("sg_nts"), user="alice", label="c")
        srv.forms["sg_nts"].append(_later(samples.nts(10), "2025-06-03T09:00:00Z"))
        second = pull(ledger, client.submissions("sg_nts", since=first.cursor), user="alice",
                      label="c", since=first.cursor)
        assert "submissionDate+gt" in srv.requests[-1] or "submissionDate gt" in \
            srv.requests[-1].replace("%20", " ")
    assert second.pulled == 1 and second.cursor == "2025-06-03T09:00:00Z"
    # pulling everything again adds nothing: submission ids are known
    with FakeCentral({"sg_nts": subs}) as srv:
        again = pull(ledger, OdkCentral(srv.url, "field@example.org", "secret")
                     .submissions("sg_nts"), user="alice", label="c")
    assert again.summary.already_imported == 4 * 5 and again.summary.accepted == 0


def test_central_bad_password_is_a_coded_pull_error():
    with FakeCentral({"sg_nts": []}) as srv, pytest.raises(PullError) as exc:
        list(OdkCentral(srv.url, "field@example.org", "wrong").submissions("sg_nts"))
    assert exc.value.code == "PULL_FAILED" and exc.value.details[0]["params"]["status"] == 401


def test_central_server_error_mid_pull_stores_nothing_half(ledger):
    with FakeCentral({"sg_nts": [samples.nts(i) for i in range(4)]}, page_size_cap=2) as srv:
        client = OdkCentral(srv.url, "field@example.org", "secret", page_size=2)
        gen = client.submissions("sg_nts")
        next(gen)
        srv.fail_next = 500
        with pytest.raises(PullError):
            pull(ledger, gen, user="alice", label="c")
    assert ledger.reports(status="submitted") == []


def test_kobo_pull_pages_and_since(ledger):
    subs = [samples.eore(i) for i in range(5)]
    with FakeKobo({"aXyZ123": subs}, page_size_cap=2) as srv:
        client = KoboToolbox(srv.url, FakeKobo.TOKEN, "aXyZ123", page_size=2)
        res = pull(ledger, client.submissions(), user="alice", label="kobo")
        assert len([r for r in srv.requests if "/data/" in r]) == 3
        srv.assets["aXyZ123"].append(_later(samples.eore(9), "2025-07-01T10:00:00Z"))
        more = pull(ledger, client.submissions(since=res.cursor), user="alice", label="kobo")
    assert res.pulled == 5 and res.summary.rejected == 0
    assert more.pulled == 1 and more.summary.accepted + more.summary.needs_review == 1


def test_kobo_bad_token():
    with FakeKobo({"a": []}) as srv, pytest.raises(PullError):
        list(KoboToolbox(srv.url, "nope", "a").submissions())


def test_central_edit_pulled_later_updates_the_same_objects(ledger):
    sub = samples.nts(3)
    with FakeCentral({"sg_nts": [sub]}) as srv:
        client = OdkCentral(srv.url, "field@example.org", "secret")
        first = pull(ledger, client.submissions("sg_nts"), user="alice", label="c")
        ledger.approve(first.summary.report_ids, user="approver")
        # the reviewer edits the submission in Central: same __id, a new instance, later time
        edited = dataclasses.replace(
            sub, instance_id="uuid:edit-of-3", submitted_at="2025-06-04T07:00:00Z",
            values={**sub.values, "ha_beneficiaries": 900})
        srv.forms["sg_nts"] = [edited]
        second = pull(ledger, client.submissions("sg_nts", since=first.cursor), user="alice",
                      label="c", since=first.cursor)
    assert second.pulled == 1
    area = next(p for p in second.summary.proposals if p.report_type == "hazardous_area")
    assert area.action == "update" and any("beneficiaries" in r for r in area.reasons)
