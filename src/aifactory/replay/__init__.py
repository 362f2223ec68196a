"""Trace replay: loaders, a synthetic workload generator, the virtual-clock runner, metrics."""
