"""aifactory: a digital twin and operations platform for AI infrastructure, from wafer to workload."""

from aifactory.compiled import use_fresh_modules as _use_fresh_modules

__version__ = "0.1.0"

_use_fresh_modules()  # the plant engine: compiled if built from the sources as they are, else the sources
