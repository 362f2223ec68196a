"""Shared test set-up: ``tests/`` is importable so helpers like ``cli_invoke`` can be shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
