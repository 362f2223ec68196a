"""Schemathesis, every check, against the real HTTP service on SQLite and PostgreSQL, as every role.

The service runs under uvicorn on a seeded world (programmes, projects, allocations, jobs, a provider, an
offer, a reservation); ``st run`` takes its OpenAPI document and runs the examples, coverage and fuzzing
phases with ``--checks all``: no server error; every status, content type, header and body as
documented; schema-valid input accepted and schema-violating input refused; a method the path does not
serve answered 405 with the right ``Allow``; a missing token refused; and so on. Path identifiers and
the ids a body refers to are pinned to objects the role may see, so that the cases reach the routes'
rules rather than 404.

``positive_data_acceptance`` expects schema-valid input to be accepted. Some rules cannot be stated in
JSON Schema — one field against another, a rule of this factory, the clock — and a 422 naming the field
is the right answer to them; the operations below allow it and say which rule. Every other check, and
this one elsewhere, runs unchanged. ``AIFACTORY_FUZZ_EXAMPLES`` (default 5) sets the examples per
operation and phase.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server

from aifactory.service.app import create_app
from aifactory.service.settings import Settings
from conftest import ROLES, TOKEN_ROLES, World

EXAMPLES = int(os.environ.get("AIFACTORY_FUZZ_EXAMPLES", "5"))
ST = Path(sys.executable).with_name("st")

RULES_BEYOND_THE_SCHEMA = {  # operation → the rules a schema-valid body may still break (422)
    "GET /api/v1/offers": "a shape's GPU count must be one the model is sold in",
    "GET /api/v1/offers/{offer_id}/availability": "end_at after start_at",
    "GET /api/v1/usage": "since before until",
    "POST /api/v1/allocations": "end_at after start_at",
    "POST /api/v1/allocations/{allocation_id}/review": "gpu_hours only when approving",
    "POST /api/v1/jobs": "gpus or a shape; command or image; duration_s only for simulated runs",
    "POST /api/v1/offers": "a shape the model is sold in; available_until after available_from",
    "POST /api/v1/reservations": "end_at after start_at and after now",
    "POST /api/v1/tokens": "project_id only for project roles",
    "PUT /api/v1/racks/{rack}": "a rack of this factory, at most its trays failed",
}


def _ids(world: World, role: str) -> dict[str, Any]:
    """Path and body ids of objects ``role`` may see (its own project's, for project roles)."""
    project = TOKEN_ROLES[role][1] or "pa"

    def first(collection: str, **where: Any) -> Any:
        items = world.get("operator", f"/api/v1/{collection}").json()
        return next(item["id"] for item in items if all(item.get(k) == v for k, v in where.items()))

    world.add_token(f"spare-{role}", "project_member", project)  # the one token a run may revoke
    return {
        "job_id": first("jobs", project_id=project),
        "allocation_id": first("allocations", project_id=project),
        "reservation_id": first("reservations"),
        "offer_id": first("offers"),
        "programme_id": "sci",
        "project_id": project,
        "token_id": world.token_ids[f"spare-{role}"],
        "rack": 0,
        "body.project_id": project,
        "body.programme_id": "sci",
        "body.provider_id": "factory",
        "body.offer_id": first("offers"),
    }


def _config(ids: dict[str, Any]) -> str:
    lines = ["[parameters]"]
    lines += [f'"{name}" = {value!r}'.replace("'", '"') for name, value in ids.items()]
    for label, rule in RULES_BEYOND_THE_SCHEMA.items():
        lines += [
            "",
            "[[operations]]",
            f'include-name = "{label}"',
            f"# {rule}",
            'checks.positive_data_acceptance.expected-statuses = ["2XX", 401, 403, 404, 409, 422]',
        ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(seeded: World, role: str, tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(_ids(seeded, role)), encoding="utf-8")
    settings = Settings(database_url=database_url, log_dir=seeded.log_dir)
    app = create_app(settings, clock=seeded.clock, engine=seeded.engine)
    with live_server(app) as base:
        command = [str(ST), "--config-file", str(config), "run", f"{base}/openapi.json"]
        command += ["--checks", "all", "--phases", "examples,coverage,fuzzing", "--workers", "1"]
        command += ["--max-examples", str(EXAMPLES), "--seed", "7", "--no-color"]
        command += ["-H", f"Authorization: Bearer {seeded.secrets[role]}"]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[report.find("FAILURES") :][-12000:] or report[-12000:]
    assert "No issues found" in report or " passed" in report, report[-3000:]
