"""The default scenario's name, importable without loading the scenario machinery (the CLI's options)."""

DEFAULT_SCENARIO = "nvidia-2025"
