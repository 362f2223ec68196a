"""The planner: the cheapest capacity additions, and when, that meet the targets (docs/planner.md)."""
