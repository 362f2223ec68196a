"""The local executor's job wrapper:
``python -m aifactory.service.executors.runner DIR KEY LIMIT TICKET -- CMD``.

It runs in a session of its own, so a worker killed with SIGKILL does not take the job with it. It first
takes its launch's ticket (deletes ``KEY.TICKET.ticket``): a worker restarted before that deletes the
ticket itself and requeues the job, and the wrapper, finding no ticket, exits without running anything —
whichever deletes the ticket decides, so the command runs at most once. It then writes ``KEY.pid``, runs
``CMD`` through ``/bin/sh -c`` with stdout and stderr appended to the log the worker opened, stops the
command's process group at the time limit (SIGTERM, then SIGKILL after a grace period) or when it is
itself sent SIGTERM, and writes ``KEY.exit`` atomically when the command ends: ``{"exit_code": n,
"timed_out": bool, "stopped": bool, "ended": unix time}``. The worker reads ``KEY.exit`` to learn the
outcome — also after a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from aifactory.service.executors.base import write_atomic

GRACE_S = 5.0


def main(argv: list[str]) -> int:
    run_dir, key, timeout, ticket = Path(argv[0]), argv[1], float(argv[2]), argv[3]
    command = argv[argv.index("--") + 1]
    try:
        (run_dir / f"{key}.{ticket}.ticket").unlink()
    except FileNotFoundError:  # a restarted worker gave this launch up before it began: never run it
        return 0
    write_atomic(run_dir / f"{key}.pid", str(os.getpid()))
    proc = subprocess.Popen(["/bin/sh", "-c", command], start_new_session=True)
    state = {"stopped": False, "timed_out": False, "kill_at": float("inf")}

    def terminate() -> None:
        _signal_group(proc.pid, signal.SIGTERM)
        state["kill_at"] = min(state["kill_at"], time.monotonic() + GRACE_S)

    def on_sigterm(_sig: int, _frame: FrameType | None) -> None:
        state["stopped"] = True
        terminate()

    signal.signal(signal.SIGTERM, on_sigterm)
    deadline = time.monotonic() + timeout
    while True:
        try:
            code = proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if now >= deadline and not state["timed_out"] and not state["stopped"]:
                state["timed_out"] = True
                terminate()
            if now >= state["kill_at"]:
                _signal_group(proc.pid, signal.SIGKILL)
    _signal_group(proc.pid, signal.SIGKILL)  # whatever the command left behind in its group
    record = {
        "exit_code": code,
        "timed_out": bool(state["timed_out"]),
        "stopped": bool(state["stopped"]),
        "ended": time.time(),
    }
    write_atomic(run_dir / f"{key}.exit", json.dumps(record))
    return 0


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
