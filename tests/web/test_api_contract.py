"""The API keeps to its own description: Schemathesis against a live server.

The example programme on a throwaway SQLite record, served by a real uvicorn on a free port;
Schemathesis reads ``/api/v1/openapi.json`` from it and, for every operation, sends requests
made from the description (fitting it, and not fitting it) as an anonymous caller, a
data-entry clerk, an analyst and an approver. Every answer must be no server error, with a
status code, content type, headers and body the description gives for that operation.

Deterministic (Hypothesis derandomized, no example database) and bounded: ``EXAMPLES``
requests per operation, mode and caller.
"""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websupport import build_site, password, served

schemathesis = pytest.importorskip("schemathesis")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: requests per operation, generation mode and caller; fewer for an export that writes a
#: GeoPackage (about a second each)
EXAMPLES = 6
FEWER = {"GET /api/v1/exports/geopackage": 2}
#: callers: None is anonymous. Signing out would end the caller's token for the rest of the
#: run, so it is tried anonymously only.
CALLERS = [None, "clerk", "analyst", "chief"]
SKIP_SIGNED_IN = {"POST /api/v1/auth/logout"}


@pytest.fixture(scope="module")
def contract_site(tmp_path_factory):
    site = build_site(f"sqlite:///{tmp_path_factory.mktemp('contract')}/record.sqlite")
    with served(site.app) as base:
        tokens = {}
        for name in [*CALLERS[1:], "visitor"]:
            r = requests.post(f"{base}/api/v1/auth/token",
                              json={"name": name, "password": password(name)}, timeout=10)
            assert r.status_code == 200, r.text
            tokens[name] = r.json()["token"]
        yield base, tokens
    site.ledger.db.close()


def _failures(base: str, tokens: dict[str, str], caller: str | None) -> list[str]:
    auth = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
    # the description needs a sign-in to read: an anonymous run reads it as a viewer
    schema = schemathesis.openapi.from_url(
        f"{base}/api/v1/openapi.json",
        headers={"Authorization": f"Bearer {tokens['visitor']}"}, timeout=30)
    skip = SKIP_SIGNED_IN if caller else set()
    session = requests.Session()
    found: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 40, len(operations)
    for op in operations:
        if op.label in skip:
            continue
        run = _runner(op, base, session, auth, FEWER.get(op.label, EXAMPLES))
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not the first
            found.append(f"{op.label}: {exc}"[:3000])
    return found


def _runner(op, base: str, session: requests.Session, auth: dict[str, str], examples: int):
    """A Hypothesis test of one operation: requests fitting its description and not."""
    strategy = st.one_of(op.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         op.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(max_examples=examples * 2, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        if auth:
            case.headers = {**(case.headers or {}), **auth}
        case.call_and_validate(base_url=base, session=session, checks=CHECKS, timeout=60)

    return run


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "anonymous")
def test_the_api_answers_as_its_description_says(contract_site, caller):
    base, tokens = contract_site
    failures = _failures(base, tokens, caller)
    assert not failures, "\n\n".join(failures)
