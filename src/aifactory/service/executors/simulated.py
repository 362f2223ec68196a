"""The ``simulated`` executor: a job takes its declared duration (``duration_s``), capped by its time
limit, on the wall clock — for demos and for load tests of the service without real work."""

from __future__ import annotations

from aifactory.service.executors.base import Ended, Launch, Status


class SimulatedExecutor:
    name = "simulated"

    def __init__(self) -> None:
        self._stopped: set[str] = set()

    def start(self, launch: Launch, now: float) -> str:
        launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        with launch.log_path.open("a", encoding="utf-8") as log:
            log.write(
                f"[simulated] attempt {launch.attempt} on GPUs {','.join(map(str, launch.gpu_ids))}: "
                f"runs {launch.duration_s or 0:g} s (time limit {launch.time_limit_s:g} s)\n"
            )
        return f"sim:{now!r}"

    def poll(self, launch: Launch, ref: str, now: float) -> Ended | None:
        started = float(ref.split(":", 1)[1])
        if launch.key in self._stopped:
            self._stopped.discard(launch.key)
            return Ended(exit_code=None, stopped=True, ended_at=now)
        duration = launch.duration_s or 0.0
        if duration > launch.time_limit_s and now >= started + launch.time_limit_s:
            return Ended(exit_code=None, timed_out=True, ended_at=started + launch.time_limit_s)
        if duration <= launch.time_limit_s and now >= started + duration:
            return Ended(exit_code=0, ended_at=started + duration)
        return None

    def earliest_end(self, launch: Launch, ref: str) -> float:
        """When the run ends unless stopped (start + duration, capped by the time limit): the worker need
        not poll it before. Optional for executors; a real process can end at any time."""
        if not ref.startswith("sim:"):
            return 0.0
        started = float(ref.split(":", 1)[1])
        return started + min(launch.duration_s or 0.0, launch.time_limit_s)

    def stop(self, launch: Launch, ref: str) -> None:
        self._stopped.add(launch.key)

    def recover(self, launch: Launch, ref: str | None, now: float) -> Ended | Status:
        if ref is None:
            return "not-started"
        ended = self.poll(launch, ref, now)
        return "running" if ended is None else ended
