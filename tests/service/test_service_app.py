"""The app shell: health, Prometheus metrics on a per-app registry, OpenAPI, error bodies."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from aifactory.service.app import create_app, describe_validation_errors
from aifactory.service.db import make_engine
from aifactory.service.settings import Settings
from conftest import World

JSON = {"Content-Type": "application/json"}


def test_healthz(world: World) -> None:
    assert world.get("anon", "/healthz").json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'no.db'}"
    app = create_app(Settings(database_url=url), engine=create_engine(url))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"


def _sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics(world: World) -> None:
    job = world.submit()
    world.submit()
    world.post("operator", f"/api/v1/jobs/{job['id']}/cancel")
    world.get("member_a", f"/api/v1/jobs/{job['id']}")
    world.get("anon", "/no/such/route")
    text = world.get("anon", "/metrics").text
    assert 'aifactory_jobs{state="pending"} 1.0' in text
    assert 'aifactory_jobs{state="cancelled"} 1.0' in text
    assert 'aifactory_jobs{state="running"} 0.0' in text
    assert _sample(
        text, 'aifactory_http_requests_total{method="GET",route="/api/v1/jobs/{job_id}",status="200"}'
    )
    assert (
        _sample(text, 'aifactory_http_requests_total{method="POST",route="/api/v1/jobs",status="201"}') >= 2
    )
    assert 'route="unmatched",status="404"' in text
    assert (
        'aifactory_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/jobs"}'
        in text
    )
    assert "aifactory_http_requests_total" not in {m.name for m in REGISTRY.collect()}


def test_two_apps_have_separate_registries(world: World, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    first, second = create_app(settings, engine=world.engine), create_app(settings, engine=world.engine)
    assert first.state.metrics.registry is not second.state.metrics.registry


def test_openapi(world: World) -> None:
    spec = world.get("anon", "/openapi.json").json()
    assert spec["info"]["title"] == "aifactory operations service"
    assert {"jobs", "allocations", "tokens", "programmes", "projects"} <= {t["name"] for t in spec["tags"]}
    for path in (
        "/api/v1/whoami",
        "/api/v1/programmes",
        "/api/v1/projects/{project_id}",
        "/api/v1/tokens/{token_id}",
        "/api/v1/allocations/{allocation_id}/review",
        "/api/v1/jobs/{job_id}/logs",
        "/healthz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    job_in = spec["components"]["schemas"]["JobIn"]
    assert job_in.get("examples") and "command" in job_in["properties"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_unknown_routes_and_methods_answer_json(world: World) -> None:
    missing = world.get("operator", "/api/v1/nothing")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    wrong = world.call("operator", "PUT", "/api/v1/jobs")
    assert wrong.status_code == 405 and wrong.json() == {"detail": "method: PUT is not allowed here"}
    # every method the path serves, though they are two routes (Starlette named only one of them)
    assert wrong.headers["Allow"] == "GET, HEAD, POST"
    assert world.call("operator", "OPTIONS", "/api/v1/allocations").headers["Allow"] == "GET, HEAD, POST"
    assert world.call("operator", "PATCH", "/api/v1/jobs/j-000000000000").headers["Allow"] == "GET, HEAD"


def test_malformed_json_is_400_and_documented(world: World) -> None:
    for content in (b"{not json", b"\xff\xfe\x00{", b""):
        response = world.post("member_a", "/api/v1/jobs", content=content, headers=JSON)
        assert response.status_code == (400 if content else 422), (content, response.text)
        assert response.json()["detail"].startswith("body: ") and "\n" not in response.json()["detail"]
    spec = world.get("anon", "/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert ("400" in responses) == ("requestBody" in operation), (method, path)
            assert "503" in responses, (method, path)  # the database may be away from any route
            for status, response in responses.items():
                if status[0] in "45":  # errors are JSON, also on a plain-text route
                    assert list(response["content"]) == ["application/json"], (method, path, status)
            if "401" in responses:
                assert "WWW-Authenticate" in responses["401"]["headers"]
    assert world.get("anon", "/api/v1/jobs").headers["WWW-Authenticate"] == "Bearer"


def test_a_whole_float_is_an_integer_but_true_and_text_are_not(world: World) -> None:
    body = {"command": "echo", "time_limit_s": 60}
    assert world.post("member_a", "/api/v1/jobs", body | {"gpus": 4.0}).json()["gpus"] == 4  # JSON's 4.0
    for gpus in (4.5, True, "4"):
        assert world.post("member_a", "/api/v1/jobs", body | {"gpus": gpus}).status_code == 422, gpus


def test_describe_validation_errors() -> None:
    assert describe_validation_errors([]) == "invalid input"
    one = [{"loc": ("body", "gpus"), "msg": "Input should be greater than or equal to 1", "type": "x"}]
    assert describe_validation_errors(one) == "gpus: Input should be greater than or equal to 1"
    own = [{"loc": ("body",), "msg": "Value error, command: give exactly one", "type": "value_error"}]
    assert describe_validation_errors(own) == "command: give exactly one"
    nested = [{"loc": ("query", "tail"), "msg": "bad\nvalue", "type": "x"}] * 3
    assert describe_validation_errors(nested) == "tail: bad value (and 2 more)"


def test_integrity_errors_become_409(world: World, tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), engine=world.engine)

    @app.get("/boom")
    def boom() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: programmes.id\nmore"))

    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 409
    assert response.json() == {"detail": "conflict: UNIQUE constraint failed: programmes.id"}


def test_an_unreachable_database_answers_503_naming_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'no.db'}"
    app = create_app(Settings(database_url=url), engine=create_engine(url))
    with TestClient(app) as client:
        response = client.get("/api/v1/jobs", headers={"Authorization": "Bearer aif_" + "x" * 32})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["detail"].startswith("database: unavailable (")


def test_connections_the_server_closed_are_replaced(world: World, database_url: str) -> None:
    """A database restart closes every pooled connection: a submission retries on a fresh one, and the
    pool is replaced at once, so the next requests work too (no ping before each use)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a server that closes its connections")
    name = f"aif-restart-{uuid.uuid4().hex[:8]}"
    engine = make_engine(database_url, connect_args={"application_name": name})
    app = create_app(Settings(database_url=database_url), clock=world.clock, engine=engine)
    headers = world.headers("member_a")
    body = {"command": "true", "gpus": 1, "time_limit_s": 60}
    try:
        with TestClient(app) as client:
            assert client.get("/api/v1/jobs", headers=headers).status_code == 200
            assert client.post("/api/v1/jobs", json=body, headers=headers).status_code == 201
            # what a server restart does to the app's connections
            with world.engine.connect() as admin:
                kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                kill += " WHERE application_name = :a"
                killed = admin.execute(text(kill), {"a": name}).scalar_one()
            assert killed >= 1
            submitted = client.post("/api/v1/jobs", json=body | {"idempotency_key": "after"}, headers=headers)
            assert submitted.status_code == 201, submitted.text
            listed = client.get("/api/v1/jobs", headers=headers)
            assert listed.status_code == 200 and len(listed.json()) == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/jobs",
            '{"project_id": "pa", "command": "x", "gpus": 1, "time_limit_s": %s}',
            "time_limit_s",
        ),
        ("/api/v1/programmes", '{"id": "p9", "name": "x", "share": %s}', "share"),
        ("/api/v1/projects", '{"id": "p9", "programme_id": "sci", "name": "x", "weight": %s}', "weight"),
        (
            "/api/v1/allocations",
            '{"project_id": "pa", "gpu_hours": %s, "start_at": "2026-01-01T00:00:00Z",'
            ' "end_at": "2026-02-01T00:00:00Z"}',
            "gpu_hours",
        ),
    ],
)
def test_not_a_number_and_infinity_are_refused_naming_the_field(
    world: World, number: str, path: str, body: str, field: str
) -> None:
    """Python's JSON reader takes NaN, Infinity and 1e400 (which overflows to infinity); no body does."""
    response = world.post("operator", path, content=(body % number).encode(), headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: "), response.text
