"""``GET /whoami``: the caller's token."""

from __future__ import annotations

from fastapi import APIRouter

from aifactory.service.api.schemas import ERRORS, Out
from aifactory.service.auth import AnyRole

router = APIRouter(tags=["auth"], responses=ERRORS)


class WhoAmI(Out):
    token_id: int
    subject: str
    role: str
    project_id: str | None


@router.get("/whoami", response_model=WhoAmI, summary="The caller's identity and role")
def whoami(principal: AnyRole) -> WhoAmI:
    return WhoAmI(
        token_id=principal.token_id,
        subject=principal.subject,
        role=principal.role,
        project_id=principal.project_id,
    )
