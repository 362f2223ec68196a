"""Benchmarks of the supply Monte Carlo (``make bench`` runs ``python -m benchmarks.run``).

``simpy_supply`` is the baseline the issue asks for: the same supply network written as a
straightforward SimPy model, one run at a time, against which the vectorised / compiled Monte Carlo
is timed and its mean output checked.
"""
