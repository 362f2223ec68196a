"""Benchmarks (``make bench`` runs ``python -m benchmarks.run``; results in docs/benchmarks.md).

``simpy_supply`` is the baseline the supply issue asks for: the same supply network written as a
straightforward SimPy model, one run at a time, against which the compiled Monte Carlo is timed and its
mean output checked. ``scheduler`` times the full Philly replay per policy and one scheduling cycle with
144 racks and 5,000 pending jobs.
"""
