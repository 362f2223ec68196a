"""Mappers for Monte Carlo chunks: serial, a local process pool, or a Ray cluster.

Each returns results in the order of the jobs, so merged results are identical to a serial run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

J = TypeVar("J")
R = TypeVar("R")


class ScaleOutError(RuntimeError):
    """The requested scale-out backend is unavailable (e.g. Ray not installed or unreachable)."""


def process_map(workers: int) -> Callable[[Callable[[J], R], list[J]], Iterator[R]]:
    def mapper(fn: Callable[[J], R], jobs: list[J]) -> Iterator[R]:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(fn, jobs)

    return mapper


def ray_map(address: str) -> Callable[[Callable[[J], R], list[J]], Iterator[R]]:
    """Run chunks as Ray tasks on the cluster at ``address`` ('local' starts a local Ray)."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is installed in the dev environment
        raise ScaleOutError("--ray needs the 'ray' package: pip install 'aifactory[ray]'") from exc

    def mapper(fn: Callable[[J], R], jobs: list[J]) -> Iterator[R]:
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
                else:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ScaleOutError(f"--ray {address}: cannot connect: {exc}") from exc
        remote = ray.remote(fn)
        refs = [remote.remote(job) for job in jobs]
        for ref in refs:
            yield ray.get(ref)

    return mapper


def make_mapper(
    workers: int = 1, ray_address: str | None = None
) -> Callable[[Callable[[Any], Any], list[Any]], Iterable[Any]]:
    if ray_address:
        return ray_map(ray_address)
    if workers > 1:
        return process_map(workers)
    return lambda fn, jobs: (fn(job) for job in jobs)
