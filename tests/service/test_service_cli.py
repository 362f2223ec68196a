"""``aifactory db upgrade`` and ``aifactory bootstrap`` in-process, on SQLite and PostgreSQL; ``aifactory
serve`` with several API processes."""

from __future__ import annotations

import functools
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, select

from aifactory.service.db import Token, make_engine, make_sessionmaker
from cli_invoke import invoke


def test_db_upgrade_then_bootstrap(capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    code, out, err = invoke(capsys, "db", "upgrade", "--database-url", database_url)
    assert code == 0, err
    assert "newest schema" in out
    assert invoke(capsys, "db", "upgrade", "--database-url", database_url)[0] == 0  # idempotent

    code, out, err = invoke(capsys, "bootstrap", "--database-url", database_url, "--subject", "root")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("aif_") and len(secret) == 36
    engine = make_engine(database_url)
    try:
        assert "jobs" in inspect(engine).get_table_names()
        with make_sessionmaker(engine)() as session:
            token = session.scalars(select(Token)).one()
            assert (token.subject, token.role, token.project_id) == ("root", "operator", None)
            # stored as the sha256 hex of the secret (the documented form, worked out here with hashlib)
            assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
            assert secret not in token.token_hash

        code, out, err = invoke(capsys, "bootstrap", "--database-url", database_url)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "operator token already exists" in err and "--force" in err

        code, out, _ = invoke(capsys, "bootstrap", "--database-url", database_url, "--force")
        assert code == 0 and out.strip() != secret
        with make_sessionmaker(engine)() as session:
            assert len(session.scalars(select(Token)).all()) == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("db", "upgrade", "--database-url", "nonsense://x"), "--database-url"),
        (
            ("db", "upgrade", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x"),
            "--database-url",
        ),
        (("bootstrap", "--database-url", "nonsense://x"), "--database-url"),
        (("db", "upgrade", "--database-url", " "), "database_url"),
        (("serve", "--port", "70000"), "--port"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = invoke(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bootstrap_subject_must_not_be_empty(capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    code, _, err = invoke(capsys, "bootstrap", "--database-url", database_url, "--subject", "  ")
    assert code == 2 and "--subject" in err


def test_serve_with_several_api_processes_and_the_loop_once(tmp_path: Path) -> None:
    """``serve --workers 2`` on SQLite: two API processes answer, the scheduler loop runs once (in the
    supervising process) and runs a job, and SIGTERM stops everything cleanly."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"AIFACTORY_DATABASE_URL": url, "AIFACTORY_LOG_DIR": str(tmp_path / "logs")}
    aifactory = [sys.executable, "-m", "aifactory"]
    run = functools.partial(subprocess.run, env=env, capture_output=True, text=True, check=True)
    token = run([*aifactory, "bootstrap", "--subject", "ops"]).stdout.strip()
    log = (tmp_path / "serve.log").open("w")
    options = ["--workers", "2", "--no-require-allocation", "--interval", "0.2", "--no-access-log"]
    serve = subprocess.Popen(
        [*aifactory, "serve", "--port", str(port), *options],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        auth = {"Authorization": f"Bearer {token}"}
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers=auth)
        deadline = time.monotonic() + 60
        while True:
            try:
                if api.get("/whoami").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert serve.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert api.post("/programmes", json={"id": "sci", "name": "S"}).status_code == 201
        assert api.post("/projects", json={"id": "pa", "programme_id": "sci", "name": "A"}).status_code == 201
        body = {"project_id": "pa", "command": "x", "gpus": 4, "time_limit_s": 60}
        job = api.post("/jobs", json=body | {"executor": "simulated", "duration_s": 0.5}).json()
        while (state := api.get(f"/jobs/{job['id']}").json()["state"]) in ("pending", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert state == "succeeded"
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code == 0, text
    assert "2 API processes" in text and text.count("Application startup complete") == 2
    assert "worker stopped" in text
