"""aifactory: a digital twin and operations platform for AI infrastructure, from wafer to workload."""

__version__ = "0.1.0"
