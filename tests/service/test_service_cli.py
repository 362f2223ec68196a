"""``aifactory db upgrade`` and ``aifactory bootstrap`` in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from aifactory.service.auth import hash_secret
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
            assert token.token_hash == hash_secret(secret) and secret not in token.token_hash

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
