"""The ``local`` executor: runs the job's command as a subprocess on this machine.

The command runs under :mod:`aifactory.service.executors.runner` in a session of its own, with its
assigned GPUs in ``CUDA_VISIBLE_DEVICES`` and stdout/stderr appended to the job's log. Files in
``run_dir`` tie an attempt to its process: ``<job>.<attempt>.launch`` (naming the launch's ticket) and
the ticket are written before the process is started; the wrapper deletes the ticket before it does
anything, then writes ``.pid``, and ``.exit`` when the command has ended. A restarted worker reads them:
an ``.exit`` file gives the outcome; a ticket still there means the command never began — the worker
deletes it (the wrapper, if it is only slow, then exits without running anything) and the attempt is
started again; a live wrapper is still running; a taken ticket with no live wrapper and no ``.exit`` was
lost (failed, never run twice); no ``.launch`` file means the attempt never started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aifactory.service.executors.base import Ended, Launch, Status, write_atomic

PID_WAIT_S = 5.0


class LocalExecutor:
    name = "local"

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _path(self, launch: Launch, suffix: str) -> Path:
        return self.run_dir / f"{launch.key}.{suffix}"

    def start(self, launch: Launch, now: float) -> str:
        if not launch.command:
            raise ValueError("the local executor runs commands: this job has only an image")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        ticket = uuid.uuid4().hex
        self._path(launch, f"{ticket}.ticket").touch()
        write_atomic(self._path(launch, "launch"), ticket)
        env = dict(os.environ)
        env.update(launch.env)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, launch.gpu_ids))
        env["AIFACTORY_JOB_ID"] = launch.job_id
        env["AIFACTORY_ATTEMPT"] = str(launch.attempt)
        argv = [sys.executable, "-m", "aifactory.service.executors.runner", str(self.run_dir), launch.key]
        argv += [repr(launch.time_limit_s), ticket, "--", launch.command]
        with launch.log_path.open("ab") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
            )
        self._procs[launch.key] = proc
        return f"pid:{proc.pid}"

    def poll(self, launch: Launch, ref: str, now: float) -> Ended | None:
        exit_file = self._path(launch, "exit")
        if exit_file.exists():
            self._reap(launch)
            return _read_exit(exit_file)
        proc = self._procs.get(launch.key)
        if proc is not None:
            if proc.poll() is None:
                return None
            if exit_file.exists():  # written between the two checks
                self._reap(launch)
                return _read_exit(exit_file)
            self._reap(launch)
            return Ended(exit_code=proc.returncode, lost=True, ended_at=now, message="the job wrapper died")
        pid = self._pid(launch, ref)
        if pid is not None and _alive(pid, launch.key):
            return None
        if exit_file.exists():
            return _read_exit(exit_file)
        return Ended(exit_code=None, lost=True, ended_at=now, message="the job's process is gone")

    def stop(self, launch: Launch, ref: str) -> None:
        pid = self._pid(launch, ref)
        if pid is not None and _alive(pid, launch.key):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)  # the wrapper stops the command's group and records it

    def recover(self, launch: Launch, ref: str | None, now: float) -> Ended | Status:
        launch_file = self._path(launch, "launch")
        if not launch_file.exists():
            return "not-started"
        exit_file, pid_file = self._path(launch, "exit"), self._path(launch, "pid")
        _wait_for(pid_file, exit_file, PID_WAIT_S)  # a wrapper spawned just before the crash may be starting
        if not pid_file.exists() and not exit_file.exists():
            with contextlib.suppress(FileNotFoundError):
                self._path(launch, f"{launch_file.read_text().strip()}.ticket").unlink()
                return "not-started"  # the wrapper never began; without its ticket it never will
            _wait_for(pid_file, exit_file, PID_WAIT_S)  # it took the ticket just now
        if exit_file.exists():
            return _read_exit(exit_file)
        if pid_file.exists():
            pid = int(pid_file.read_text() or 0)
            if pid and _alive(pid, launch.key):
                return "running"
            if exit_file.exists():
                return _read_exit(exit_file)
        return Ended(exit_code=None, lost=True, ended_at=now, message="lost while the worker was down")

    def _pid(self, launch: Launch, ref: str) -> int | None:
        """The wrapper's pid: from the reference, else (a run adopted without one) from its pid file."""
        pid = _pid_of(ref)
        if pid is None:
            with contextlib.suppress(OSError, ValueError):
                pid = int(self._path(launch, "pid").read_text())
        return pid

    def _reap(self, launch: Launch) -> None:
        proc = self._procs.pop(launch.key, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def _wait_for(pid_file: Path, exit_file: Path, seconds: float) -> None:
    waited = 0.0
    while not pid_file.exists() and not exit_file.exists() and waited < seconds:
        time.sleep(0.1)
        waited += 0.1


def _read_exit(path: Path) -> Ended:
    record = json.loads(path.read_text())
    return Ended(
        exit_code=record.get("exit_code"),
        timed_out=bool(record.get("timed_out")),
        stopped=bool(record.get("stopped")),
        ended_at=record.get("ended"),
    )


def _pid_of(ref: str | None) -> int | None:
    if ref and ref.startswith("pid:"):
        return int(ref[4:])
    return None


def _alive(pid: int, key: str) -> bool:
    """The attempt's wrapper runs as ``pid`` (not a zombie, and not another process that reused it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return key.encode() in cmdline.read().split(b"\0")
    except OSError:
        return False
