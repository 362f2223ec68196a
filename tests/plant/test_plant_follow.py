"""``plant follow`` against the real Mosquitto broker at 127.0.0.1:1883: a log published event by event
gives, at the endpoint, the state the log gives; malformed and out-of-order events are counted, never
applied; the page shows the floor."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
import uuid
from typing import Any

import pytest

from aifactory.cli.plant_follow import follow
from aifactory.plant.engine import PlantSim
from aifactory.plant.events import events_of, floor_state, to_lines
from aifactory.plant.loading import load_plant

BROKER = ("127.0.0.1", 1883)


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body = response.read().decode()
        return json.loads(body) if path in ("/state", "/forecast") else body


def test_the_endpoint_follows_a_log_published_on_the_broker() -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    plant = load_plant("foxconn-houston")
    lines = list(to_lines(events_of(PlantSim(plant, 5).run(2 * 24))))
    bad = ["{not json\n", json.dumps({"t": 0.0, "kind": "moved", "unit": 1, "station": "kitting"}) + "\n"]
    topic = f"aifactory/test/{uuid.uuid4().hex}"
    stop, ready = threading.Event(), threading.Event()
    port: list[int] = []
    result: list[Any] = []

    def serve() -> None:
        result.append(
            follow(
                plant,
                BROKER,
                topic,
                ("127.0.0.1", 0),
                stop,
                lambda p: (port.append(p), ready.set()),
                forecast_every=0.5,
                replications=4,
            )
        )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(20), "the follower did not subscribe"
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(*BROKER)
    publisher.loop_start()
    try:
        chunk = 50  # a message may hold several lines
        for i in range(0, len(lines), chunk):
            publisher.publish(topic, "".join(lines[i : i + chunk]), qos=1).wait_for_publish(10)
        for line in bad:  # after the last event: out of order, and not JSON
            publisher.publish(topic, line, qos=1).wait_for_publish(10)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = _get(port[0], "/state")
        if state["events_accepted"] + state["events_rejected"] >= len(lines) + len(bad):
            break
        time.sleep(0.2)
    expected = floor_state(plant, lines).summary(plant)
    for key in ("events_accepted", "units", "stations", "on_duty", "open_units"):
        assert state[key] == expected[key], key
    assert state["events_rejected"] == 2
    assert [r["reason"].split(":")[0] for r in state["first_rejected"]] == ["bad JSON", "time goes backwards"]
    # the forecast catches up with the floor: every open unit forecast, from the floor the log gives
    while time.monotonic() < deadline:
        forecast = _get(port[0], "/forecast")
        if forecast.get("events_applied") == expected["events_accepted"]:
            break
        time.sleep(0.2)
    assert forecast["status"] == "ok" and forecast["replications"] == 4
    assert {str(u["unit"]) for u in forecast["units"]} == set(expected["open_units"])
    assert all(u["p50_hours"] is None or u["p50_hours"] >= forecast["now_hours"] for u in forecast["units"])
    page = _get(port[0], "/")
    assert (
        "foxconn-houston: the floor at" in page and "l10-test" in page and "Forecast from the floor" in page
    )
    stop.set()
    thread.join(10)
    assert result and result[0].messages > 0


def test_an_unreachable_broker_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from cli_invoke import invoke

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    code, _, err = invoke(capsys, "plant", "follow", "foxconn-houston", "--mqtt", f"127.0.0.1:{free}")
    assert code == 2 and err.startswith("error: --mqtt 127.0.0.1:") and len(err.strip().splitlines()) == 1
    code, _, err = invoke(capsys, "plant", "follow", "foxconn-houston", "--topic", "a/#")
    assert code == 2 and "no wildcards" in err
