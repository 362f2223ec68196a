"""The operations dashboard: server-rendered page shells plus a small vanilla script (no build step).

The pages hold no data: the script asks for a token (kept in the tab's ``sessionStorage``), then reads
the same ``/api/v1`` views every other client reads (``/cluster``, ``/queue``, ``/usage``, jobs, and the
marketplace's ``/offers`` and ``/reservations`` when they answer) and refreshes them every few seconds.
So the dashboard can show nothing a token could not read through the API.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from aifactory.service.errors import NotFound

PACKAGE = Path(str(files(__name__)))
STATIC_URL = "/dashboard/static"
REFRESH_S = 5
JOB_ID = re.compile(r"^j-[0-9a-f]{12}$")

templates = Jinja2Templates(directory=PACKAGE / "templates")

# The pages run only their own script and style sheet and talk only to this service: an injected
# script or a rogue frame would get the token in sessionStorage.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def install(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and a job's page at ``/jobs/{job_id}`` (no token needed for the
    empty shells), and their script and style sheet under ``/dashboard/static``."""
    app.mount(STATIC_URL, StaticFiles(directory=PACKAGE / "static"), name="dashboard-static")

    def page(request: Request, template: str, **context: object) -> HTMLResponse:
        base = {"static": STATIC_URL, "api": "/api/v1", "refresh_s": REFRESH_S}
        return templates.TemplateResponse(request, template, base | context, headers=HEADERS)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return page(request, "index.html", title="aifactory operations")

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        if not JOB_ID.match(job_id):
            raise NotFound(f"job {job_id!r} not found")
        return page(request, "job.html", title=f"job {job_id}", job_id=job_id)
