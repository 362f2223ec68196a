"""Jobs: submission rules (422 naming the field), idempotency, monotonic seq, visibility, cancel, logs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from aifactory.service.db import Job, Offer, Provider, Reservation
from conftest import START, World

URL = "/api/v1/jobs"
GOOD = {"project_id": "pa", "command": "python train.py", "gpus": 4, "time_limit_s": 3600}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"command": None}, "command"),
        ({"image": "ghcr.io/x/y:1"}, "command"),
        ({"command": ""}, "command"),
        ({"gpus": None}, "gpus"),
        ({"gpus": 0}, "gpus"),
        ({"gpus": -1}, "gpus"),
        ({"gpus": 2.5}, "gpus"),
        ({"gpus": 10**30}, "gpus"),
        ({"gpus": 145}, "gpus"),
        ({"gpus": True}, "gpus"),  # strict bodies: true is not 1 …
        ({"gpus": "4"}, "gpus"),  # … "4" is not 4
        ({"time_limit_s": "60"}, "time_limit_s"),
        ({"preemptible": 1}, "preemptible"),
        ({"priority": 1.5}, "priority"),  # the factory has 2 racks of 72: it could never run
        ({"gpus": None, "shape": "gpu.3xgb300"}, "shape"),
        ({"gpus": None, "shape": "tpu.4"}, "shape"),
        ({"gpus": None, "shape": "gpu.8xh100"}, "shape"),  # a real shape, but not this factory's GPUs
        ({"gpus": 8, "shape": "gpu.4xgb300"}, "gpus"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": -1}, "time_limit_s"),
        ({"time_limit_s": None}, "time_limit_s"),
        ({"executor": "slurm"}, "executor"),
        ({"executor": "simulated"}, "duration_s"),
        ({"duration_s": 10}, "duration_s"),
        ({"executor": "simulated", "duration_s": 0}, "duration_s"),
        ({"priority": "high"}, "priority"),
        ({"preemptible": "perhaps"}, "preemptible"),
        ({"name": ""}, "name"),
        ({"reservation_id": 0}, "reservation_id"),
        ({"reservation_id": 12345}, "reservation_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"project_id": "nope"}, "project_id"),
        ({"unknown": True}, "unknown"),
    ],
)
def test_submit_validation(world: World, change: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in (GOOD | change).items() if value is not None}
    response = world.post("operator", URL, body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: ") and "\n" not in detail


def test_submit_not_json(world: World) -> None:
    response = world.post("member_a", URL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("body: ")
    assert world.post("member_a", URL, [1, 2]).status_code == 422


def test_submit_defaults_and_shape(world: World) -> None:
    response = world.post(
        "member_a", URL, {"image": "registry/x:1", "shape": "gpu.72xgb300", "time_limit_s": 60}
    )
    assert response.status_code == 201
    job = response.json()
    assert job["id"].startswith("j-") and len(job["id"]) == 14
    assert (job["project_id"], job["gpus"], job["shape"], job["command"]) == ("pa", 72, "gpu.72xgb300", None)
    assert (job["state"], job["executor"], job["priority"], job["preemptible"]) == (
        "pending",
        "local",
        0,
        False,
    )
    assert job["submitted_by"] == "member_a" and job["submitted_at"] == "2026-01-05T09:00:00Z"
    assert job["cancel_requested"] is False and job["attempt"] == 0 and job["reason"]
    simulated = world.submit("admin_a", executor="simulated", duration_s=30, priority=5, preemptible=True)
    assert (simulated["executor"], simulated["duration_s"], simulated["priority"]) == ("simulated", 30, 5)


def test_member_cannot_submit_for_another_project(world: World) -> None:
    response = world.post("member_a", URL, GOOD | {"project_id": "pb"})
    assert response.status_code == 403 and response.json()["detail"].startswith("project_id: ")


def test_operator_must_name_the_project(world: World) -> None:
    body = {key: value for key, value in GOOD.items() if key != "project_id"}
    response = world.post("operator", URL, body)
    assert response.status_code == 422 and response.json()["detail"].startswith("project_id: ")


def test_idempotent_submit(world: World) -> None:
    first = world.post("member_a", URL, GOOD | {"idempotency_key": "run-1"})
    assert first.status_code == 201
    again = world.post("admin_a", URL, GOOD | {"idempotency_key": "run-1", "gpus": 8})
    assert again.status_code == 200 and again.json() == first.json()
    by_header = world.post("member_a", URL, GOOD, headers={"Idempotency-Key": "run-1"})
    assert by_header.status_code == 200 and by_header.json()["id"] == first.json()["id"]
    other_project = world.post("member_b", URL, GOOD | {"project_id": "pb", "idempotency_key": "run-1"})
    assert other_project.status_code == 201 and other_project.json()["id"] != first.json()["id"]
    new_key = world.post("member_a", URL, GOOD, headers={"Idempotency-Key": "run-2"})
    assert new_key.status_code == 201 and new_key.json()["idempotency_key"] == "run-2"
    mismatch = world.post("member_a", URL, GOOD | {"idempotency_key": "a"}, headers={"Idempotency-Key": "b"})
    assert mismatch.status_code == 422 and mismatch.json()["detail"].startswith("idempotency_key: ")
    assert len(world.get("operator", URL).json()) == 3


def test_seq_is_monotonic_in_submission_order(world: World) -> None:
    ids = [world.submit(project_id=project)["id"] for project in ("pa", "pb", "pa", "pc", "pb")]
    jobs = world.get("operator", URL).json()
    assert [job["id"] for job in jobs] == ids
    seqs = [job["seq"] for job in jobs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_list_filters_hide_other_projects(world: World) -> None:
    a = world.submit(project_id="pa")
    b = world.submit(project_id="pb")
    world.post("operator", f"{URL}/{b['id']}/cancel")
    assert [j["id"] for j in world.get("council", URL).json()] == [a["id"], b["id"]]
    assert [j["id"] for j in world.get("member_a", URL).json()] == [a["id"]]
    assert world.get("member_a", f"{URL}?project=pb").json() == []
    assert [j["id"] for j in world.get("council", f"{URL}?project=pb").json()] == [b["id"]]
    assert [j["id"] for j in world.get("council", f"{URL}?state=cancelled").json()] == [b["id"]]
    assert [j["id"] for j in world.get("council", f"{URL}?limit=1").json()] == [b["id"]]
    bad = world.get("council", f"{URL}?state=sleeping")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("state: ")
    assert world.get("member_b", f"{URL}/{a['id']}").status_code == 404
    assert world.get("member_b", f"{URL}/nonsense").status_code == 404


def test_cancel_pending_is_immediate(world: World) -> None:
    job = world.submit()
    world.clock.advance(minutes=3)
    cancelled = world.post("member_a", f"{URL}/{job['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["ended_at"] == "2026-01-05T09:03:00Z"
    again = world.post("member_a", f"{URL}/{job['id']}/cancel")
    assert again.status_code == 409 and again.json()["detail"].startswith("state: ")


def test_cancel_running_asks_the_worker(world: World) -> None:
    job = world.submit()
    with world.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(state="running", started_at=START))
        session.commit()
    response = world.post("admin_a", f"{URL}/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "running" and response.json()["cancel_requested"] is True
    assert world.post("member_b", f"{URL}/{job['id']}/cancel").status_code == 404


def test_submit_on_a_reservation(world: World) -> None:
    with world.session() as session:
        session.add(Provider(id="tw", name="Taiwan factory", country="TW", kind="factory"))
        session.flush()
        offer = Offer(
            provider_id="tw",
            shape="gpu.4xgb300",
            gpus_per_unit=4,
            country="TW",
            price_per_gpu_hour=2.5,
            kind="reserved",
            units=10,
            available_from=START,
            active=True,
            created_at=START,
        )
        session.add(offer)
        session.flush()
        reservations = [
            Reservation(
                offer_id=offer.id,
                project_id=project,
                units=1,
                gpus=4,
                start_at=START,
                end_at=START + timedelta(days=1),
                price_per_gpu_hour=2.5,
                state=state,
                created_by="x",
                created_at=START,
            )
            for project, state in (("pa", "booked"), ("pb", "booked"), ("pa", "cancelled"))
        ]
        session.add_all(reservations)
        session.commit()
        own, other, cancelled = (r.id for r in reservations)
    assert world.submit(reservation_id=own)["reservation_id"] == own
    for reservation_id in (other, cancelled):
        response = world.post("member_a", URL, GOOD | {"reservation_id": reservation_id})
        assert response.status_code == 422 and response.json()["detail"].startswith("reservation_id: ")
    world.clock.advance(days=1)  # the window has ended: a job on it would wait for ever
    response = world.post("member_a", URL, GOOD | {"reservation_id": own})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"reservation_id: reservation {own} ended at 2026-01-06T09:00:00+00:00: a job on it could never run"
    )


def test_jobs_beyond_borrowing_limits_are_refused_at_submission(world: World) -> None:
    """144 GPUs; sci (0.6 of 1.0 → 86.4 GPUs) holds pa, pb and a limited project; ind has 57.6."""
    project = {"id": "pl", "programme_id": "sci", "name": "Limited", "quota_gpus": 20}
    created = world.post("council", "/api/v1/projects", project | {"borrowing_limit_gpus": 10})
    assert created.status_code == 201, created.text
    assert created.json()["borrowing_limit_gpus"] == 10
    response = world.post("operator", URL, GOOD | {"project_id": "pl", "gpus": 31})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        "gpus: needs 31 GPUs; borrowing limits allow pl at most 30: it could never run"
    )
    assert world.submit(project_id="pl", gpus=30)["state"] == "pending"  # quota 20 + limit 10
    assert world.submit(project_id="pa", gpus=144)["gpus"] == 144  # no limit: it may borrow everything
    # a programme's limit binds its projects together: cap has no share, so may hold 8 GPUs at most
    programme = {"id": "cap", "name": "Capped", "share": 0.0, "borrowing_limit_gpus": 8}
    assert world.post("council", "/api/v1/programmes", programme).status_code == 201
    project = {"id": "pz", "programme_id": "cap", "name": "Z", "borrowing_limit_gpus": 100}
    assert world.post("council", "/api/v1/projects", project).status_code == 201
    response = world.post("operator", URL, GOOD | {"project_id": "pz", "gpus": 9})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "gpus: needs 9 GPUs; borrowing limits allow pz at most 8: it could never run"
    )
    assert world.submit(project_id="pz", gpus=8)["gpus"] == 8


def test_logs(world: World) -> None:
    job = world.submit()
    url = f"{URL}/{job['id']}/logs"
    empty = world.get("member_a", url)
    assert empty.status_code == 200 and empty.text == ""
    lines = [f"step {i} loss {1 / (i + 1):.4f}" for i in range(5000)]
    (world.log_dir / f"{job['id']}.log").write_text("\n".join(lines) + "\n")
    full = world.get("member_a", url)
    assert full.headers["content-type"].startswith("text/plain") and full.text.splitlines() == lines
    assert world.get("council", f"{url}?tail=3").text == "\n".join(lines[-3:]) + "\n"
    assert world.get("member_a", f"{url}?tail=100000").text.splitlines() == lines
    bad = world.get("member_a", f"{url}?tail=0")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("tail: ")
    assert world.get("member_b", url).status_code == 404


def test_tail_without_trailing_newline(tmp_path: Any) -> None:
    from aifactory.service.api.jobs import tail_lines

    path = tmp_path / "x.log"
    path.write_bytes(b"a\nb\nc")
    assert tail_lines(path, 2) == b"b\nc"
    assert tail_lines(path, 1, block=1) == b"c"
    assert tail_lines(path, 5, block=2) == b"a\nb\nc"
    path.write_bytes(b"")
    assert tail_lines(path, 3) == b""


def test_concurrent_submissions_get_distinct_increasing_seqs(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def submit(i: int) -> int:
        response = world.post("member_a", URL, GOOD | {"name": f"c{i}"})
        assert response.status_code == 201, response.text
        return int(response.json()["seq"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        seqs = list(pool.map(submit, range(24)))
    assert len(set(seqs)) == 24  # PostgreSQL's sequence may skip numbers; SQLite's max + 1 does not
    again = world.post("member_a", URL, GOOD | {"idempotency_key": "k"}).json()["seq"]
    assert again > max(seqs)


def test_concurrent_submissions_with_shared_and_own_idempotency_keys(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def submit(i: int) -> tuple[int, str, int, str]:
        key = "shared" if i % 2 == 0 else f"own-{i}"
        response = world.post("member_a", URL, GOOD | {"idempotency_key": key})
        body = response.json()
        return response.status_code, body.get("id", response.text), body.get("seq", -1), key

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(submit, range(40)))
    assert all(code in (200, 201) for code, *_ in results), results
    shared = [r for r in results if r[3] == "shared"]
    assert [code for code, *_ in shared].count(201) == 1
    assert len({job_id for _, job_id, _, _ in shared}) == 1
    own = [r for r in results if r[3] != "shared"]
    assert all(code == 201 for code, *_ in own)
    created = {(job_id, seq) for _, job_id, seq, _ in results}
    assert len(created) == 21 and len({seq for _, seq in created}) == 21
    with world.session() as session:
        assert session.query(Job).filter(Job.idempotency_key == "shared").count() == 1
        assert session.query(Job).count() == 21


def test_reasons_name_other_projects_jobs_only_to_roles_that_read_everything(world: World) -> None:
    mine = world.submit("member_a", command="true", gpus=1, time_limit_s=60)["id"]
    sibling = world.submit("member_a", command="true", gpus=1, time_limit_s=60)["id"]
    theirs = world.submit("member_b", project_id="pb", command="true", gpus=1, time_limit_s=60)["id"]
    reason = f"{mine} waits (order) behind {theirs} and {sibling}"
    with world.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == mine).values(reason=reason))
    shown = world.get("member_a", f"/api/v1/jobs/{mine}").json()["reason"]
    assert shown == f"{mine} waits (order) behind another project's job and {sibling}"
    listed = {j["id"]: j["reason"] for j in world.get("member_a", "/api/v1/jobs").json()}
    assert listed[mine] == shown and theirs not in str(listed)
    cancelled = world.post("member_a", f"/api/v1/jobs/{sibling}/cancel").json()
    assert theirs not in str(cancelled)
    assert world.get("operator", f"/api/v1/jobs/{mine}").json()["reason"] == reason
    with world.session() as session:  # reading through a redacted view changes nothing stored
        assert session.get(Job, mine).reason == reason  # type: ignore[union-attr]
