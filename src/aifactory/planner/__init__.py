"""The planner: the cheapest capacity additions, and when, that meet a scenario's targets (docs/planner.md)."""
