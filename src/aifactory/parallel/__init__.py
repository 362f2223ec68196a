"""Scale-out shells: map Monte Carlo chunks over local processes or a Ray cluster."""

from aifactory.parallel.mappers import make_mapper

__all__ = ["make_mapper"]
