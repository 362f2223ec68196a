"""Tokens: format, hash-only storage, 401 for missing/unknown/revoked/malformed, whoami for each role."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from aifactory.service.auth import hash_secret, new_secret
from aifactory.service.db import Token
from conftest import ROLES, TOKEN_ROLES, World


def test_secret_format() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("aif_") and len(secret) == 36
        assert set(secret[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert hash_secret("aif_x") == hash_secret("aif_x") != hash_secret("aif_y")
    assert len(hash_secret("aif_x")) == 64
    # the published SHA-256 test vector for "abc" (FIPS 180-2, appendix B.1): the stored form is sha256 hex
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("role", ROLES)
def test_whoami(world: World, role: str) -> None:
    response = world.get(role, "/api/v1/whoami")
    assert response.status_code == 200
    expected_role, project = TOKEN_ROLES[role]
    assert response.json() == {
        "token_id": world.token_ids[role],
        "subject": role,
        "role": expected_role,
        "project_id": project,
    }


def test_only_the_hash_is_stored_and_last_use_is_recorded(world: World) -> None:
    world.clock.advance(hours=1)
    assert world.get("member_a", "/api/v1/whoami").status_code == 200
    with world.session() as session:
        token = session.get(Token, world.token_ids["member_a"])
        assert token is not None
        # the documented storage (sha256 hex of the secret), worked out here with hashlib, not the service
        assert token.token_hash == hashlib.sha256(world.secrets["member_a"].encode()).hexdigest()
        assert token.last_used_at == world.clock.now
        hashes = session.scalars(select(Token.token_hash)).all()
    assert all(not h.startswith("aif_") for h in hashes)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer aif_unknown",
        "Bearer not-even-prefixed",
        "Basic dXNlcjpwYXNz",
        "aif_without_scheme",
    ],
)
def test_unauthenticated(world: World, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = world.client.get("/api/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_revoked_token_is_refused(world: World) -> None:
    assert (
        world.call("operator", "DELETE", f"/api/v1/tokens/{world.token_ids['member_a']}").status_code == 200
    )
    response = world.get("member_a", "/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["detail"] == "token revoked"
