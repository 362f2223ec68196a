"""Pending jobs in scheduling order, globally and per tenant.

Order: higher priority first, then earlier submission, then arrival sequence. Sorted lists give
in-order iteration and O(log n) insertion and removal from anywhere (backfill and fair share take
jobs from the middle of the queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count, islice

from sortedcontainers import SortedList

from aifactory.scheduler.job import Job

Key = tuple[int, float, int, str]


class PendingQueue:
    def __init__(self) -> None:
        self._all: SortedList = SortedList()
        self._by_tenant: dict[str, SortedList] = {}
        self._keys: dict[str, Key] = {}
        self.jobs: dict[str, Job] = {}
        self._seq = count()

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self.jobs

    def add(self, job: Job) -> None:
        if job.id in self.jobs:
            raise ValueError(f"job {job.id} is already pending")
        key: Key = (-job.priority, job.submit, next(self._seq), job.id)
        self._keys[job.id] = key
        self.jobs[job.id] = job
        self._all.add(key)
        self._by_tenant.setdefault(job.tenant, SortedList()).add(key)

    def remove(self, job_id: str) -> Job:
        key = self._keys.pop(job_id)
        job = self.jobs.pop(job_id)
        self._all.remove(key)
        self._by_tenant[job.tenant].remove(key)
        return job

    def in_order(self, limit: int | None = None) -> Iterator[Job]:
        """Pending jobs in scheduling order (a snapshot: safe to remove while iterating)."""
        keys = list(islice(self._all, limit)) if limit is not None else list(self._all)
        return (self.jobs[key[3]] for key in keys)

    def head(self) -> Job | None:
        return self.jobs[self._all[0][3]] if self._all else None

    def tenant_jobs(self, tenant: str, limit: int | None = None) -> list[Job]:
        queue = self._by_tenant.get(tenant)
        if not queue:
            return []
        return [self.jobs[key[3]] for key in islice(queue, limit)]

    def tenant_head(self, tenant: str) -> Job | None:
        """The tenant's first job in scheduling order (None: it has none pending)."""
        queue = self._by_tenant.get(tenant)
        return self.jobs[queue[0][3]] if queue else None

    def tenants_waiting(self) -> list[str]:
        return [t for t, q in self._by_tenant.items() if q]

    def key_of(self, job_id: str) -> Key:
        return self._keys[job_id]

    def position(self, job_id: str) -> int:
        return int(self._all.index(self._keys[job_id]))
