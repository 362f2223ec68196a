"""What the discrete-event twins share: the event kernel, replication seeds and intervals, fitting.

The plant twin runs on :class:`~aifactory.sim.kernel.Kernel`; the fab twin and the plant twin draw
replication seeds, compute 95 % intervals and fit stage distributions with the same functions.
"""

from aifactory.sim.kernel import LATE, NORMAL, URGENT, Kernel

__all__ = ["LATE", "NORMAL", "URGENT", "Kernel"]
