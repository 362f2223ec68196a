"""The ``ray`` executor: submits each run through Ray's job API to a Ray cluster.

aifactory's scheduler decides where a job runs (its racks and GPU ids); Ray is the launcher. Each attempt
becomes one Ray job whose submission id is ``aif-<job id>.<attempt>``: Ray refuses a second submission
with the same id, so an attempt can never be started twice, and a restarted worker finds it again by
that id (``recover``). The job's GPU ids go to the entrypoint in ``CUDA_VISIBLE_DEVICES``, with
``AIFACTORY_JOB_ID`` and ``AIFACTORY_ATTEMPT``.

Ray's job API has no wall-clock limit, so the executor enforces ``time_limit_s`` itself: ``poll`` stops
a job that has run past it and reports the end as timed out. Ray keeps the driver's output; ``poll``
copies it into the job's log file (at most every ``log_every_s`` while it runs, and once at the end) so
``GET /jobs/{id}/logs`` works as for the local executor.

Ray clusters started with token authentication (the default for a new local cluster since Ray 2.5x)
want their token: pass ``token`` (``aifactory worker --ray-token`` / ``RAY_AUTH_TOKEN``); without one the
Ray SDK's own lookup applies (``RAY_AUTH_MODE=token`` and ``~/.ray/auth_token``).

A Ray cluster that does not answer is not a failed job: ``poll`` reports the run as still going (the
next cycle asks again) and ``recover`` raises, so the worker does not guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aifactory.service.executors.base import Ended, Launch, Status

log = logging.getLogger("aifactory.executors.ray")

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class RayUnavailable(RuntimeError):
    """The Ray cluster's job server did not answer."""


def _client_factory(address: str, token: str | None) -> Any:
    from ray.job_submission import JobSubmissionClient

    headers = {"Authorization": f"Bearer {token}"} if token else None
    return JobSubmissionClient(address, headers=headers)


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        client_factory: Callable[[str, str | None], Any] = _client_factory,
        log_every_s: float = 2.0,
    ) -> None:
        self.address = address
        self.token = token
        self._factory = client_factory
        self._client: Any = None
        self.log_every_s = log_every_s
        self._logged: dict[str, float] = {}  # attempt key -> when its log was last copied
        self._timed_out: set[str] = set()  # attempts this executor stopped at their limit

    @staticmethod
    def submission_id(launch: Launch) -> str:
        return f"aif-{launch.key}"

    def client(self) -> Any:
        if self._client is None:
            try:
                self._client = self._factory(self.address, self.token)
            except Exception as exc:  # the SDK checks the cluster when it is built
                raise RayUnavailable(f"Ray job server at {self.address} does not answer: {exc}") from exc
        return self._client

    # ------------------------------------------------------------------------------- protocol

    def start(self, launch: Launch, now: float) -> str:
        if not launch.command:
            raise ValueError("the ray executor runs commands: this job has only an image")
        env = dict(launch.env)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, launch.gpu_ids))
        env["AIFACTORY_JOB_ID"] = launch.job_id
        env["AIFACTORY_ATTEMPT"] = str(launch.attempt)
        return str(
            self.client().submit_job(
                entrypoint=launch.command,
                submission_id=self.submission_id(launch),
                runtime_env={"env_vars": env},
                metadata={"aifactory_job": launch.job_id, "attempt": str(launch.attempt)},
            )
        )

    def poll(self, launch: Launch, ref: str, now: float) -> Ended | None:
        ref = ref or self.submission_id(launch)  # "" for a run adopted before its reference was stored
        try:
            info = self.client().get_job_info(ref)
        except RayUnavailable as exc:
            log.warning("job %s: %s; asking again next cycle", launch.job_id, exc)
            return None
        except RuntimeError as exc:
            if _not_found(exc):
                return Ended(exit_code=None, lost=True, ended_at=now, message=f"Ray has no job {ref}")
            log.warning("job %s: Ray job server: %s; asking again next cycle", launch.job_id, exc)
            return None
        except Exception as exc:  # requests' connection errors and the like
            log.warning("job %s: Ray job server unreachable: %s; asking again next cycle", launch.job_id, exc)
            return None
        status = str(getattr(info.status, "value", info.status))
        if status not in TERMINAL:
            started = (info.start_time or 0) / 1000 or now
            if now - started >= launch.time_limit_s and launch.key not in self._timed_out:
                self._timed_out.add(launch.key)
                self._stop(ref)
            self._copy_log(launch, ref, now, final=False)
            return None
        self._copy_log(launch, ref, now, final=True)
        return self._ended(launch, info, now)

    def stop(self, launch: Launch, ref: str) -> None:
        self._stop(ref or self.submission_id(launch))

    def recover(self, launch: Launch, ref: str | None, now: float) -> Ended | Status:
        sid = ref or self.submission_id(launch)
        try:
            info = self.client().get_job_info(sid)
        except RuntimeError as exc:
            if _not_found(exc):
                return "not-started"  # committed as started, never submitted: safe to start again
            raise RayUnavailable(f"Ray job server at {self.address}: {exc}") from exc
        except Exception as exc:
            raise RayUnavailable(f"Ray job server at {self.address} does not answer: {exc}") from exc
        status = str(getattr(info.status, "value", info.status))
        if status not in TERMINAL:
            return "running"
        self._copy_log(launch, sid, now, final=True)
        return self._ended(launch, info, now)

    # -------------------------------------------------------------------------------- helpers

    def _stop(self, ref: str) -> None:
        try:
            self.client().stop_job(ref)
        except Exception as exc:  # already ended, or the server is away: poll tells
            log.warning("Ray job %s: stop: %s", ref, exc)

    def _ended(self, launch: Launch, info: Any, now: float) -> Ended:
        status = str(getattr(info.status, "value", info.status))
        ended_at = info.end_time / 1000 if info.end_time else now
        started = info.start_time / 1000 if info.start_time else None
        timed_out = launch.key in self._timed_out or (
            status == "STOPPED" and started is not None and ended_at - started >= launch.time_limit_s
        )
        self._timed_out.discard(launch.key)
        self._logged.pop(launch.key, None)
        message = str(info.message or "")
        if status == "SUCCEEDED":
            return Ended(exit_code=0, ended_at=ended_at, message=message)
        if status == "STOPPED":
            return Ended(
                exit_code=None, timed_out=timed_out, stopped=True, ended_at=ended_at, message=message
            )
        code = info.driver_exit_code
        return Ended(exit_code=int(code) if code is not None else 1, ended_at=ended_at, message=message)

    def _copy_log(self, launch: Launch, ref: str, now: float, *, final: bool) -> None:
        if not final and now - self._logged.get(launch.key, -1e18) < self.log_every_s:
            return
        self._logged[launch.key] = now
        try:
            text = self.client().get_job_logs(ref)
        except Exception as exc:
            log.warning("Ray job %s: logs: %s", ref, exc)
            return
        _write_attempt_log(launch, str(text))


def _write_attempt_log(launch: Launch, text: str) -> None:
    """Put Ray's output of this attempt under its own header, after the earlier attempts' output."""
    path = launch.log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"=== attempt {launch.attempt} (Ray job aif-{launch.key}) ===\n"
    before = path.read_text(errors="replace") if path.exists() else ""
    at = before.find(header)
    kept = before[:at] if at >= 0 else before
    if kept and not kept.endswith("\n"):
        kept += "\n"
    path.write_text(kept + header + text)


def _not_found(exc: Exception) -> bool:
    text = str(exc)
    return "404" in text or "does not exist" in text
