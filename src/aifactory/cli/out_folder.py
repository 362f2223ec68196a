"""The one check of an ``--out`` folder, made before any work: a folder that cannot be one (a file in
its path) or cannot be written is bad input (exit 2), not an internal error after the run."""

from __future__ import annotations

import os
from pathlib import Path


def out_folder_problem(out: Path) -> str | None:
    """Why ``out`` cannot be (or become) a writable folder — one line naming it — or None."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                return f"--out {out}: {folder} exists and is not a folder"
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"--out {out}: {folder} is not writable"
            return None
    return None
