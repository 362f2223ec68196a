"""The scheduler: one scheduling cycle over a snapshot, with topology-aware placement and policies."""
