"""Prometheus metrics on a per-app registry: requests and latency by route, jobs by state at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aifactory.service.db.models import JOB_STATES, Job


def route_label(scope: Mapping[str, Any]) -> str:
    """The matched route's full template (``/api/v1/jobs/{job_id}``), or ``unmatched``.

    Routers included under a prefix report their template without it, so the prefix is taken from the
    request path: the template has as many segments as the path's tail it matched.
    """
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    segments = str(scope.get("path", "")).rstrip("/").split("/")
    depth = len(template.rstrip("/").split("/")) - 1
    prefix = "/".join(segments[: len(segments) - depth]) if depth else ""
    return prefix + template


class JobsByState(Collector):
    """``aifactory_jobs{state}``: counted in the database when scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(Job.state, func.count()).group_by(Job.state)).all()
        except SQLAlchemyError:
            return
        counts = dict.fromkeys(JOB_STATES, 0) | {str(state): int(n) for state, n in rows}
        gauge = GaugeMetricFamily("aifactory_jobs", "Jobs by state.", labels=["state"])
        for state, n in counts.items():
            gauge.add_metric([state], n)
        yield gauge


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aifactory_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aifactory_http_request_duration_seconds",
            "HTTP request latency by method and route.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(JobsByState(engine))

    def install(self, app: FastAPI) -> None:
        app.add_middleware(MeasureRequests, metrics=self)


class MeasureRequests:
    """Counts and times every HTTP request by route and status.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``) runs the rest
    of the app in an extra task and streams each response through it, which cost about a tenth of a job
    submission's CPU time.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            label = route_label(scope)  # routing recorded the matched route in the same scope
            method = scope["method"]
            self.metrics.requests.labels(method, label, str(status)).inc()
            self.metrics.latency.labels(method, label).observe(time.perf_counter() - started)
