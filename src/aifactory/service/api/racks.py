"""Racks in and out of service: the operator drains a rack (maintenance: its running jobs finish, nothing
new starts on it) or records broken trays; the worker honours both from its next cycle and the rack map
shows them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aifactory.cluster.topology import Topology
from aifactory.service.api.schemas import CONFLICT, ERRORS, NOT_FOUND, Body, Out
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import RackState
from aifactory.service.deps import FactoryDep, SessionDep
from aifactory.service.errors import Conflict, Invalid, NotFound
from aifactory.service.store import racks as store_racks

router = APIRouter(prefix="/racks", tags=["racks"], responses=ERRORS)


class RackStateIn(Body):
    drained: bool = Field(False, description="Out of scheduling: running jobs finish, nothing new starts.")
    failed_trays: int = Field(0, ge=0, le=10_000, description="Broken trays (spares take their place first).")

    model_config = ConfigDict(json_schema_extra={"examples": [{"drained": True, "failed_trays": 0}]})


class RackStateOut(Out):
    rack: int
    drained: bool
    failed_trays: int


def _check_rack(factory: Topology, rack: int) -> None:
    if not 0 <= rack < factory.racks:
        raise NotFound(f"rack {rack} not found (racks 0–{factory.racks - 1})")


@router.get("", response_model=list[RackStateOut], summary="Every rack's state (any role)")
def list_racks(session: SessionDep, factory: FactoryDep, _: AnyRole) -> list[RackStateOut]:
    stored = {row.rack: row for row in session.scalars(select(RackState))}
    return [
        RackStateOut(rack=rack, drained=stored[rack].drained, failed_trays=stored[rack].failed_trays)
        if rack in stored
        else RackStateOut(rack=rack, drained=False, failed_trays=0)
        for rack in range(factory.racks)
    ]


@router.put(
    "/{rack}",
    response_model=RackStateOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Drain or restore a rack, record its broken trays (operator)",
)
def set_rack(
    rack: Annotated[int, PathParam(ge=0, le=1_000_000)],
    body: RackStateIn,
    session: SessionDep,
    factory: FactoryDep,
    _: Annotated[Principal, Depends(require())],
) -> RackStateOut:
    _check_rack(factory, rack)
    if body.failed_trays > factory.rack.trays:
        raise Invalid(f"failed_trays: a rack has {factory.rack.trays} trays, {body.failed_trays} given")
    row = store_racks.lock(session, rack)  # held until committed
    drained, failed = (row.drained, row.failed_trays) if row is not None else (False, 0)
    if (drained, failed) == (body.drained, body.failed_trays):
        raise Conflict(
            f"drained: rack {rack} is already {'drained' if drained else 'in service'} with "
            f"{failed} failed trays (nothing to change)"
        )
    if row is None:
        row = RackState(rack=rack)
        session.add(row)
    row.drained = body.drained
    row.failed_trays = body.failed_trays
    try:
        session.commit()
    except IntegrityError:  # a concurrent first change of this rack inserted its row first
        session.rollback()
        raise Conflict(f"drained: rack {rack} was changed by another request; read it and retry") from None
    return RackStateOut(rack=rack, drained=row.drained, failed_trays=row.failed_trays)
