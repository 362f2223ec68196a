"""The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against the real
service on a local port: a factory seeded through the API, jobs placed by the worker (simulated executor).

It signs in with a token, reads the rack map, the queue's reasons, usage and a job's log, checks that a
project member sees no other project's job names, and takes a screenshot (docs/img/dashboard.png with
AIFACTORY_DASHBOARD_SCREENSHOT=1). It is skipped only with AIFACTORY_SKIP_BROWSER=1 (``make install``
installs Chromium; CI never sets it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import live_server

from aifactory.service.app import create_app
from aifactory.service.auth import issue_token
from aifactory.service.db import Job, make_engine, make_sessionmaker, upgrade
from aifactory.service.executors import SimulatedExecutor
from aifactory.service.settings import Settings
from aifactory.service.worker import FactoryConfig, Worker

CHROMIUM = Path("/usr/bin/chromium")
# The docs' picture is refreshed only on request (AIFACTORY_DASHBOARD_SCREENSHOT=1); otherwise the
# screenshot goes to a temporary folder, so a test run leaves the working tree as it was.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
FACTORY = {"racks": 4, "rack_gpus": 72, "schedulable_trays": 17}  # one spare tray per rack
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if os.environ.get("AIFACTORY_SKIP_BROWSER") == "1":
    pytest.skip("AIFACTORY_SKIP_BROWSER=1: the browser test is skipped", allow_module_level=True)


class Clock:
    """The service's and the worker's clock: four hours before the wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Factory:
    url: str
    secrets: dict[str, str]
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    gpu_ids: dict[str, list[int]] = field(default_factory=dict)
    market: bool = False


def _post(client: httpx.Client, secret: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    return dict(response.json())


def _seed(client: httpx.Client, operator: str, clock: Clock) -> Factory:
    """Two programmes, three projects, their tokens and allocations, jobs and (if the service has a
    marketplace) offers — all through the API, as an operator and the council would."""

    def post(path: str, body: dict[str, Any], secret: str = operator) -> dict[str, Any]:
        return _post(client, secret, path, body)

    secrets = {"operator": operator}
    post("/programmes", {"id": "sci", "name": "Science", "share": 0.6})
    post("/programmes", {"id": "ind", "name": "Industry", "share": 0.4})
    for pid, programme, name in (
        ("climate", "sci", "Climate model"),
        ("protein", "sci", "Protein folding"),
        ("robotics", "ind", "Robot policies"),
    ):
        post("/projects", {"id": pid, "programme_id": programme, "name": name})
    secrets["council"] = post("/tokens", {"subject": "council", "role": "council"})["secret"]
    for subject, project in (("ana", "climate"), ("bo", "protein"), ("cy", "robotics")):
        body = {"subject": subject, "role": "project_member", "project_id": project}
        secrets[subject] = post("/tokens", body)["secret"]
    start, end = (clock.now - timedelta(days=7)).isoformat(), (clock.now + timedelta(days=60)).isoformat()
    for project, hours in (("climate", 5000), ("protein", 2000), ("robotics", 800)):
        alloc = post(
            "/allocations", {"project_id": project, "gpu_hours": hours, "start_at": start, "end_at": end}
        )
        if project != "robotics":  # robotics' request is still with the council: its jobs are held
            post(f"/allocations/{alloc['id']}/review", {"decision": "approve"}, secrets["council"])
    factory = Factory(url=str(client.base_url), secrets=secrets)
    sim = {"executor": "simulated", "command": "python train.py", "time_limit_s": 86_400}
    for key, secret, body in (
        ("climate-train", "ana", {"name": "climate-train-7b", "gpus": 72, "duration_s": 36_000}),
        ("climate-eval", "ana", {"name": "climate-eval", "gpus": 8, "duration_s": 3_600}),
        ("protein-fold", "bo", {"name": "fold-secret-beta", "gpus": 36, "duration_s": 36_000}),
        ("protein-sweep", "bo", {"name": "fold-sweep-beta", "gpus": 2, "duration_s": 36_000}),
        ("robot-policy", "cy", {"name": "robot-policy", "gpus": 16, "duration_s": 3_600}),
        ("climate-70b", "ana", {"name": "climate-train-70b", "gpus": 216, "duration_s": 36_000}),
    ):
        factory.jobs[key] = post("/jobs", sim | body, secrets[secret])
    probe = client.get("/api/v1/providers", headers={"Authorization": f"Bearer {operator}"})
    if probe.status_code == 200:  # the marketplace answers: put a few offers and a booking on it
        factory.market = True
        post("/providers", {"id": "factory", "name": "This factory", "country": "DE", "kind": "factory"})
        post("/providers", {"id": "acme-tw", "name": "ACME Cloud", "country": "TW", "kind": "partner"})
        window = {"available_from": start}
        spot = post(
            "/offers",
            window
            | {
                "provider_id": "factory",
                "shape": "gpu.4xgb300",
                "price_per_gpu_hour": 2.4,
                "kind": "reserved",
                "units": 8,
            },
        )
        post(
            "/offers",
            window
            | {
                "provider_id": "acme-tw",
                "shape": "gpu.8xh100",
                "price_per_gpu_hour": 3.1,
                "kind": "on_demand",
                "units": 20,
            },
        )
        post(
            "/reservations",
            {
                "offer_id": spot["id"],
                "units": 2,
                "start_at": (clock.now + timedelta(days=1)).isoformat(),
                "end_at": (clock.now + timedelta(days=2)).isoformat(),
            },
            secrets["bo"],
        )
    return factory


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Factory]:
    root = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{root / 'service.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = Clock()
    settings = Settings(database_url=url, log_dir=root / "logs", **FACTORY)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        _, operator = issue_token(session, subject="ops", role="operator", project_id=None, now=clock.now)
        session.commit()
    worker = Worker(
        sessions,
        FactoryConfig(**FACTORY),
        {"simulated": SimulatedExecutor()},
        settings.log_dir,
        clock=lambda: clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )
    app = create_app(settings, clock=clock, engine=engine)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        seeded = _seed(client, operator, clock)
        worker.cycle()
        clock.now += timedelta(hours=2)  # climate-eval ends (1 h); the rest runs on
        worker.cycle()
        clock.now += timedelta(hours=2)
        worker.cycle()
        with sessions() as session:
            for key, job in seeded.jobs.items():
                row = session.get(Job, job["id"])
                assert row is not None
                seeded.jobs[key] = {"id": row.id, "name": row.name, "state": row.state, "reason": row.reason}
                seeded.gpu_ids[key] = [int(x) for x in (row.gpu_ids or "").split(",") if x]
        yield seeded
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def new_page(browser: Any) -> Any:
    """A page whose ``problems`` collects script errors and console errors other than HTTP error answers
    (a CSP violation, say), which the tests check are none."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.problems = []
    page.on(
        "console",
        lambda m: (
            m.type == "error" and "Failed to load resource" not in m.text and page.problems.append(m.text)
        ),
    )
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def sign_in(browser: Any, factory: Factory, who: str, path: str = "/") -> Any:
    page = new_page(browser)
    page.goto(factory.url + path)
    page.get_by_label("Access token").fill(factory.secrets[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-loaded='true']", timeout=15_000)
    return page


def test_the_seeded_factory_is_as_the_dashboard_test_expects(factory: Factory) -> None:
    states = {key: job["state"] for key, job in factory.jobs.items()}
    assert states == {
        "climate-train": "running",
        "climate-eval": "succeeded",
        "protein-fold": "running",
        "protein-sweep": "running",
        "robot-policy": "pending",
        "climate-70b": "pending",
    }
    assert "no approved allocation" in factory.jobs["robot-policy"]["reason"]


def test_operator_sees_busy_trays_the_queue_and_usage(browser: Any, factory: Factory, tmp_path: Path) -> None:
    page = sign_in(browser, factory, "operator")
    assert "ops · operator" in page.locator("#whoami").inner_text()
    for key in ("climate-train", "protein-fold", "protein-sweep"):
        trays = {(gid // 72, gid % 72 // 4) for gid in factory.gpu_ids[key]}
        for rack, tray in trays:
            cell = page.locator(f"td.tray[data-rack='{rack}'][data-tray='{tray}']")
            assert cell.get_attribute("data-state") in ("busy", "partial")
            assert factory.jobs[key]["id"] in (cell.get_attribute("aria-label") or "")
    busy = page.locator("td.tray[data-state='busy']").count()
    assert busy == (72 + 36) // 4  # whole trays of the 72- and 36-GPU jobs
    assert page.locator("td.tray[data-state='partial']").count() == 1  # the 2-GPU sweep
    assert page.locator("td.tray[data-state='spare']").count() == 4
    assert page.locator("td.tray").count() == 4 * 18

    held = page.locator("#queue tbody tr", has_text="robot-policy")
    assert "no approved allocation" in held.inner_text()
    waiting = page.locator("#queue tbody tr", has_text="climate-train-70b")
    assert waiting.locator("td.reason").inner_text().strip() not in ("", "—")
    running = page.locator("#running tbody").inner_text()
    assert "climate-train-7b" in running and "fold-secret-beta" in running

    chart = page.locator("#usage-chart svg")
    assert "Science: share 60.0 %" in (chart.locator("desc").text_content() or "")
    assert page.locator("#budgets tbody tr").count() == 3
    assert re.search(r"5,000\.0", page.locator("#budgets tbody tr", has_text="Climate model").inner_text())
    market_note = page.locator("#market-note").inner_text()
    if factory.market:
        assert market_note == ""
        assert "ACME Cloud" in page.locator("#offers").inner_text()
        assert page.locator("#bookings tbody tr").count() == 1
    else:
        assert "No marketplace yet" in market_note

    docs = os.environ.get("AIFACTORY_DASHBOARD_SCREENSHOT") == "1"
    screenshot = DOCS_SCREENSHOT if docs else tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    assert page.problems == []
    page.close()


def test_a_member_sees_no_other_projects_job_names(browser: Any, factory: Factory) -> None:
    page = sign_in(browser, factory, "ana")
    text = page.locator("body").inner_text()
    html = page.content()
    assert "climate-train-7b" in text
    for key in ("protein-fold", "protein-sweep", "robot-policy"):
        job = factory.jobs[key]
        assert job["name"] not in text and job["id"] not in html, key
    # their GPUs still show as busy, without a job on them
    trays = {(gid // 72, gid % 72 // 4) for gid in factory.gpu_ids["protein-fold"]}
    for rack, tray in trays:
        cell = page.locator(f"td.tray[data-rack='{rack}'][data-tray='{tray}']")
        assert cell.get_attribute("data-state") == "busy"
    note = page.locator("#queue-note").inner_text()
    assert re.match(r"Not shown: \d+ waiting job\(s\) of other projects, 2 running job\(s\) of other", note)
    assert page.locator("#budgets tbody tr").count() == 1
    assert page.problems == []
    page.close()


def test_the_job_page_shows_the_job_and_its_log(browser: Any, factory: Factory) -> None:
    job = factory.jobs["climate-eval"]
    page = sign_in(browser, factory, "ana", f"/jobs/{job['id']}")
    assert "climate-eval" in page.locator("#job-title").inner_text()
    details = page.locator("#job-details").inner_text()
    assert "succeeded" in details and "Exit code" in details
    assert "[simulated] attempt 1" in page.locator("#job-log").inner_text()
    assert page.problems == []
    page.close()
    other = sign_in(browser, factory, "bo", f"/jobs/{job['id']}")
    assert "No job" in other.locator("#job-error").inner_text()
    assert "[simulated]" not in other.locator("#job-log").inner_text()
    assert other.problems == []
    other.close()


def test_a_refused_token_brings_the_sign_in_back(browser: Any, factory: Factory) -> None:
    page = new_page(browser)
    page.goto(factory.url + "/")
    page.get_by_label("Access token").fill("aif_not-a-real-token-000000000000000000")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#login-error:has-text('Token refused')", timeout=10_000)
    assert page.locator("#app").is_hidden()
    assert page.evaluate("sessionStorage.getItem('aifactory.token')") is None
    assert page.problems == []
    page.close()


def test_the_overview_refreshes_itself_and_signs_out(browser: Any, factory: Factory) -> None:
    page = sign_in(browser, factory, "cy")
    assert page.locator("#queue tbody tr", has_text="late-arrival").count() == 0
    body = {"name": "late-arrival", "command": "true", "gpus": 1, "time_limit_s": 60}
    with httpx.Client(base_url=factory.url, timeout=10) as client:
        _post(client, factory.secrets["cy"], "/jobs", body)
    # no reload: the page asks the API again within its refresh interval (5 s)
    page.wait_for_selector("#queue tbody tr:has-text('late-arrival')", timeout=15_000)
    page.get_by_role("button", name="Sign out").click()
    assert page.locator("#app").is_hidden() and page.get_by_label("Access token").is_visible()
    assert page.evaluate("sessionStorage.getItem('aifactory.token')") is None
    assert page.problems == []
    page.close()
