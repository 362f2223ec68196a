"""A typed HTTP client of the operations service's API (``/api/v1``), over httpx.

The CLI client (``aifactory jobs …``, ``alloc …``, ``market …``) is a thin shell over it; scripts and
tests may use it directly::

    with ApiClient("http://127.0.0.1:8000", token) as api:
        job = api.submit_job(command="python train.py", gpus=4, time_limit_s=3600)

Every answer is the server's JSON (the response models in :mod:`aifactory.service.api`). Every failure is a
:class:`ClientError`: with ``status`` the HTTP status and ``detail`` the server's one-line detail for an
error answer, or ``status`` ``None`` when the server could not be reached or answered garbage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, cast

import httpx

API_PREFIX = "/api/v1"
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0

Json = dict[str, Any]


class Submitted(NamedTuple):
    """A submitted job and whether it is new (``False``: the existing job with the idempotency key)."""

    job: Json
    created: bool


class ClientError(Exception):
    """A failed call: ``status`` is the HTTP status (``None``: no usable answer), ``detail`` one line."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status

    @property
    def is_client_error(self) -> bool:
        """The server refused the request itself (4xx): retrying the same call will not help."""
        return self.status is not None and 400 <= self.status < 500


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class ApiClient:
    """The service at ``base_url`` (e.g. ``http://127.0.0.1:8000``), authenticated by ``token``.

    ``timeout`` bounds each call's reads and writes (seconds); connecting gives up after
    ``CONNECT_TIMEOUT_S``. ``transport`` lets tests route calls without a network.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "aifactory-client"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, path, json=json, params=_drop_none(params or {}), headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ClientError(
                f"the aifactory service at {self.base_url} did not answer in time ({exc})"
            ) from None
        except httpx.TransportError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClientError(f"cannot reach the aifactory service at {self.base_url}: {reason}") from None
        if response.status_code >= 400:
            raise ClientError(_detail(response), status=response.status_code)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"the service at {self.base_url} answered {method} {path} with something other than JSON"
            ) from None

    def _object(self, method: str, path: str, **kwargs: Any) -> Json:
        return cast(Json, self._json(method, path, **kwargs))

    def _list(self, path: str, **params: Any) -> list[Json]:
        return cast(list[Json], self._json("GET", path, params=params))

    # ---------------------------------------------------------------------------------- identity

    def whoami(self) -> Json:
        return self._object("GET", "/whoami")

    def create_programme(
        self, id: str, name: str, share: float, *, borrowing_limit_gpus: int | None = None
    ) -> Json:
        body = {"id": id, "name": name, "share": share, "borrowing_limit_gpus": borrowing_limit_gpus}
        return self._object("POST", "/programmes", json=_drop_none(body))

    def create_project(
        self,
        id: str,
        programme_id: str,
        name: str,
        *,
        weight: float = 1.0,
        quota_gpus: int | None = None,
        borrowing_limit_gpus: int | None = None,
    ) -> Json:
        body = {
            "id": id,
            "programme_id": programme_id,
            "name": name,
            "weight": weight,
            "quota_gpus": quota_gpus,
            "borrowing_limit_gpus": borrowing_limit_gpus,
        }
        return self._object("POST", "/projects", json=_drop_none(body))

    def create_token(self, subject: str, role: str, project_id: str | None = None) -> Json:
        """A new token; the answer's ``secret`` is shown only this once."""
        body = _drop_none({"subject": subject, "role": role, "project_id": project_id})
        return self._object("POST", "/tokens", json=body)

    # -------------------------------------------------------------------------------------- jobs

    def submit_job(
        self,
        *,
        time_limit_s: float,
        command: str | None = None,
        image: str | None = None,
        gpus: int | None = None,
        shape: str | None = None,
        project_id: str | None = None,
        name: str | None = None,
        priority: int | None = None,
        preemptible: bool | None = None,
        executor: str | None = None,
        duration_s: float | None = None,
        reservation_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Submitted:
        """Submit a job (201), or get the existing one with the same idempotency key (200)."""
        body = _drop_none(
            {
                "project_id": project_id,
                "name": name,
                "command": command,
                "image": image,
                "gpus": gpus,
                "shape": shape,
                "time_limit_s": time_limit_s,
                "priority": priority,
                "preemptible": preemptible,
                "executor": executor,
                "duration_s": duration_s,
                "reservation_id": reservation_id,
            }
        )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        response = self._call("POST", "/jobs", json=body, headers=headers)
        return Submitted(cast(Json, response.json()), created=response.status_code == 201)

    def list_jobs(
        self, *, state: str | None = None, project: str | None = None, limit: int | None = None
    ) -> list[Json]:
        """Jobs in submission order (the newest ``limit``); a project token sees its project's only."""
        return self._list("/jobs", state=state, project=project, limit=limit)

    def get_job(self, job_id: str) -> Json:
        return self._object("GET", f"/jobs/{job_id}")

    def cancel_job(self, job_id: str) -> Json:
        return self._object("POST", f"/jobs/{job_id}/cancel")

    def job_logs(self, job_id: str, *, tail: int | None = None) -> str:
        """The job's log as text (empty until the job writes one); ``tail``: only the last N lines."""
        return self._call("GET", f"/jobs/{job_id}/logs", params={"tail": tail}).text

    # ------------------------------------------------------------------------------- allocations

    def request_allocation(
        self,
        *,
        gpu_hours: float,
        start_at: datetime | str,
        end_at: datetime | str,
        justification: str = "",
        project_id: str | None = None,
    ) -> Json:
        body = {
            "project_id": project_id,
            "gpu_hours": gpu_hours,
            "start_at": _iso(start_at),
            "end_at": _iso(end_at),
            "justification": justification,
        }
        return self._object("POST", "/allocations", json=_drop_none(body))

    def list_allocations(self, *, project: str | None = None, state: str | None = None) -> list[Json]:
        return self._list("/allocations", project=project, state=state)

    def get_allocation(self, allocation_id: int) -> Json:
        return self._object("GET", f"/allocations/{allocation_id}")

    def review_allocation(
        self,
        allocation_id: int,
        decision: str,
        *,
        gpu_hours: float | None = None,
        start_at: datetime | str | None = None,
        end_at: datetime | str | None = None,
        note: str | None = None,
    ) -> Json:
        """``decision``: approve (as requested), amend (with new GPU-hours or period) or reject."""
        body = {
            "decision": decision,
            "gpu_hours": gpu_hours,
            "start_at": None if start_at is None else _iso(start_at),
            "end_at": None if end_at is None else _iso(end_at),
            "note": note,
        }
        return self._object("POST", f"/allocations/{allocation_id}/review", json=_drop_none(body))

    # ------------------------------------------------------------------------------------ market

    def list_providers(self) -> list[Json]:
        return self._list("/providers")

    def create_provider(self, id: str, name: str, country: str, kind: str = "partner") -> Json:
        """A provider of capacity (operator): ``kind`` factory (this factory's racks) or partner."""
        body = {"id": id, "name": name, "country": country, "kind": kind}
        return self._object("POST", "/providers", json=body)

    def publish_offer(
        self,
        provider_id: str,
        *,
        shape: str,
        price_per_gpu_hour: float,
        kind: str,
        units: int,
        available_from: datetime | str,
        available_until: datetime | str | None = None,
        country: str | None = None,
    ) -> Json:
        """An offer of ``units`` of ``shape`` (operator); ``kind`` on_demand, reserved or spot."""
        body = {
            "provider_id": provider_id,
            "shape": shape,
            "price_per_gpu_hour": price_per_gpu_hour,
            "kind": kind,
            "units": units,
            "available_from": _iso(available_from),
            "available_until": None if available_until is None else _iso(available_until),
            "country": country,
        }
        return self._object("POST", "/offers", json=_drop_none(body))

    def get_offer(self, offer_id: int) -> Json:
        return self._object("GET", f"/offers/{offer_id}")

    def list_offers(
        self,
        *,
        shape: str | None = None,
        country: str | None = None,
        max_price: float | None = None,
        kind: str | None = None,
        provider_id: str | None = None,
    ) -> list[Json]:
        """Active offers, cheapest first."""
        return self._list(
            "/offers", shape=shape, country=country, max_price=max_price, kind=kind, provider_id=provider_id
        )

    def offer_availability(self, offer_id: int, start_at: datetime | str, end_at: datetime | str) -> Json:
        params = {"start_at": _iso(start_at), "end_at": _iso(end_at)}
        return self._object("GET", f"/offers/{offer_id}/availability", params=params)

    def book(
        self,
        offer_id: int,
        *,
        units: int,
        start_at: datetime | str,
        end_at: datetime | str,
        project_id: str | None = None,
    ) -> Json:
        """Reserve ``units`` of an offer over [start_at, end_at) (409 when too few are free)."""
        body = {
            "offer_id": offer_id,
            "project_id": project_id,
            "units": units,
            "start_at": _iso(start_at),
            "end_at": _iso(end_at),
        }
        return self._object("POST", "/reservations", json=_drop_none(body))

    def list_reservations(self, *, project_id: str | None = None, state: str | None = None) -> list[Json]:
        return self._list("/reservations", project_id=project_id, state=state)

    def get_reservation(self, reservation_id: int) -> Json:
        return self._object("GET", f"/reservations/{reservation_id}")

    def cancel_reservation(self, reservation_id: int) -> Json:
        return self._object("POST", f"/reservations/{reservation_id}/cancel")


def _detail(response: httpx.Response) -> str:
    """The server's one-line ``detail``, else the status and the first line of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return " ".join(body["detail"].split())
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return f"{reason}: {text}" if text else reason
