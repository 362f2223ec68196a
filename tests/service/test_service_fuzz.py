"""Schemathesis against the service's own OpenAPI, in process (ASGI), on SQLite and PostgreSQL.

Every operation the app publishes (routes that land later join automatically) is called with generated
valid and invalid input, once as the operator and once as a project member, over a seeded world
(programmes, projects, allocations, jobs). The checks: no answer is a server error, and every answer
with a documented status conforms to its schema. A failure names the operation and the reproducing
call.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from aifactory.service.app import create_app
from aifactory.service.settings import Settings
from conftest import World

# per operation and database: the whole fuzz run stays well under a minute; AIFACTORY_FUZZ_EXAMPLES=200
# digs deeper (by hand)
MAX_EXAMPLES = int(os.environ.get("AIFACTORY_FUZZ_EXAMPLES", "10"))
ROLES = ("operator", "member_a")
KNOWN = {  # a path parameter named like these is, in every other generated case, an id that exists
    "job_id": "jobs",
    "allocation_id": "allocations",
    "programme_id": "programmes",
    "project_id": "projects",
    "offer_id": "offers",
    "reservation_id": "reservations",
    "provider_id": "providers",
}


def _schema(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations() -> list[str]:
    """The app's operations, read from its OpenAPI (no database is opened)."""
    schema = _schema(create_app(Settings(database_url="sqlite://")))
    return [result.ok().label for result in schema.get_all_operations()]


def _existing(world: World, collection: str) -> list[Any]:
    response = world.get("operator", f"/api/v1/{collection}")
    return [item["id"] for item in response.json()] if response.status_code == 200 else []


@pytest.mark.parametrize("label", _operations())
def test_no_server_errors_and_answers_match_the_schema(seeded: World, label: str) -> None:
    method, path = label.split(" ", 1)
    operation = _schema(seeded.client.app)[path][method]
    known = {name: _existing(seeded, collection) for name, collection in KNOWN.items()}
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def call(case: Any) -> None:
        params = case.path_parameters or {}
        for name, ids in known.items():
            if name in params and ids and len(str(params[name])) % 2 == 0:
                params[name] = ids[len(str(params[name])) % len(ids)]
        for role in ROLES:
            case.call_and_validate(
                headers=seeded.headers(role), checks=[not_a_server_error, response_schema_conformance]
            )

    call()
