"""The API keeps to its own description: Schemathesis against a live server.

The example programme on a throwaway SQLite record, served by a real uvicorn on a free port;
Schemathesis reads ``/api/v1/openapi.json`` from it and, for every operation, sends requests
made from the description — its boundary values (the coverage phase: the largest id and one
past it, empty and over-long strings, missing and wrong-typed parameters) and generated ones,
fitting the description and not — as an anonymous caller, a data-entry clerk, an analyst and
an approver. Every answer must be no server error, with a status code, content type, headers
and body the description gives for that operation.

Deterministic (a fixed seed, derandomized, no example database) and bounded: ``EXAMPLES``
generated requests per operation and caller, besides the coverage phase's.
"""

from __future__ import annotations

import pytest
import requests
from websupport import build_site, password, served

schemathesis = pytest.importorskip("schemathesis")

#: generated requests per operation and caller (fitting the description and not), besides
#: the coverage phase's boundary values (signed-in callers only)
EXAMPLES = 4
#: callers: None is anonymous
CALLERS = [None, "clerk", "analyst", "chief"]
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance"]


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory):
    """The example programme served by uvicorn, and an API token per caller."""
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


def _config(base: str, token: str | None) -> schemathesis.Config:
    data = {
        "seed": 20240601,
        "base-url": base,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True,
                       "database": "none"},
        # anonymous callers are refused before their input matters, but for the public routes
        # and the body, which is read first: no boundary values for them
        "phases": {"examples": {"enabled": True},
                   "coverage": {"enabled": bool(token), "unexpected-methods": [],
                                "generate-duplicate-query-parameters": False},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "suppress-health-check": ["all"],
        "request-timeout": 60,
    }
    if token:
        data["headers"] = {"Authorization": f"Bearer {token}"}
        # signing out would end the caller's token for the rest of the run: anonymous only
        data["operations"] = [
            {"include-name": "POST /api/v1/auth/logout", "enabled": False},
            # each answer writes a GeoPackage (most of a second): a few only
            {"include-name": "GET /api/v1/exports/geopackage",
             "generation": {"max-examples": 2}, "phases": {"coverage": {"enabled": False}}},
        ]
    return schemathesis.Config.from_dict(data)


@pytest.fixture(scope="module", params=CALLERS, ids=lambda c: c or "anonymous")
def api_description(request, contract_server):
    """The live server's API description, as one caller tests it."""
    base, tokens = contract_server
    caller = request.param
    # the description needs a sign-in to read: an anonymous run reads it as a viewer
    return schemathesis.openapi.from_url(
        f"{base}/api/v1/openapi.json", config=_config(base, tokens.get(caller)),
        headers={"Authorization": f"Bearer {tokens['visitor']}"}, timeout=30)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """Schemathesis 4.32's lazy schema reads the test item's ``_nodeid``, which pytest 9 no
    longer keeps: give it one (it only uses it to name each operation's subtest)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


contract = schemathesis.pytest.from_fixture("api_description")


@contract.parametrize()
def test_the_api_answers_as_its_description_says(case, contract_server):
    case.call_and_validate()


def test_the_callers_are_still_signed_in_after_the_run(contract_server):
    """The run above means something only if the callers stayed signed in throughout."""
    base, tokens = contract_server
    for name, token in tokens.items():
        r = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
        assert r.status_code == 200 and r.json()["name"] == name, (name, r.text)
