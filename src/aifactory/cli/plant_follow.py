"""``aifactory plant follow``: the floor kept current from a live MQTT feed of shop-floor events, and the
forecast of its open units kept current from the floor, served as JSON (``/state``, ``/forecast``) and as a
page (``/``) on a small HTTP endpoint (docs/plant.md)."""

from __future__ import annotations

import html
import json
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from aifactory.cli.plant import PlantArg, PlantInputError, SetOption, _load, plant_app

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from aifactory.plant.events import Floor
    from aifactory.plant.model import Plant

MAX_PAYLOAD = 64 << 20  # a message is an event, or lines of them (a week of a plant is a few MB)


class Follower:
    """The floor fed from messages (any thread), read as a summary (any other): one lock around both."""

    def __init__(self, plant: Plant) -> None:
        from aifactory.plant.events import Floor

        self.plant = plant
        self.floor: Floor = Floor(plant)
        self.lock = threading.Lock()
        self.messages = 0
        self.forecast: dict[str, Any] | None = None
        """The latest forecast (``forecast.json``'s document), or None before the first."""
        self.forecast_of = -1
        """Events applied when the floor the latest forecast started from was taken."""

    def update_forecast(self, replications: int, seed: int) -> bool:
        """Forecast from the floor as it is now, if events have been applied since the last forecast
        (the floor is copied under the lock; the runs go on outside it). True when it forecast."""
        from aifactory.plant.forecast import forecast

        with self.lock:
            applied = self.floor.state.accepted
            if applied in (self.forecast_of, 0):
                return False
            snapshot = self.floor.state.snapshot()
        doc = forecast(self.plant, snapshot, replications=replications, seed=seed).to_json()
        doc["events_applied"] = applied
        with self.lock:
            self.forecast, self.forecast_of = doc, applied
        return True

    def forecast_doc(self) -> dict[str, Any]:
        with self.lock:
            if self.forecast is None:
                return {"status": "no forecast yet", "events_applied": self.floor.state.accepted}
            return {"status": "ok", **self.forecast}

    def on_payload(self, payload: bytes) -> None:
        with self.lock:
            self.messages += 1
            if len(payload) > MAX_PAYLOAD:
                self.floor.refuse("bad event: a message larger than 64 MB")
                return
            for line in payload.decode("utf-8", errors="replace").splitlines() or [""]:
                self.floor.feed(line)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            out = self.floor.state.summary(self.plant)
            out["messages"] = self.messages
            return out


def _handler(follower: Follower) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler  # here: the CLI's start-up does not pay for it

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/state":
                body, kind = json.dumps(follower.summary()).encode(), "application/json"
            elif self.path.split("?")[0] == "/forecast":
                body, kind = json.dumps(follower.forecast_doc()).encode(), "application/json"
            elif self.path.split("?")[0] == "/":
                body, kind = (
                    page(follower.summary(), follower.plant.name, follower.forecast_doc()).encode(),
                    "text/html; charset=utf-8",
                )
            else:
                self.send_error(404, "not found: /state or /forecast (JSON), or / (page)")
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the terminal shows the counts

    return Handler


def _orders_html(f: dict[str, Any] | None) -> str:
    if f is None or f.get("status") != "ok":
        return "<p>No forecast yet.</p>"

    def h(x: float | None) -> str:
        return "after horizon" if x is None else f"{x:,.1f}"

    rows = "".join(
        f"<tr><td>{html.escape(r['order'])}</td><td>{r['open_units']}</td><td>{h(r['p10_hours'])}</td>"
        f"<td>{h(r['p50_hours'])}</td><td>{h(r['p90_hours'])}</td></tr>"
        for r in f["orders"][:30]
    )
    head = "<tr><th>order</th><th>open</th><th>P10 h</th><th>P50 h</th><th>P90 h</th></tr>"
    return (
        f"<h2>Forecast from the floor at {f['now_hours']:g} h ({f['replications']} runs, "
        f"{f['open_units']:,} open units)</h2><table>{head}{rows}</table>"
    )


def page(s: dict[str, Any], name: str, forecast: dict[str, Any] | None = None) -> str:
    """The floor (and the latest forecast) as a page that refreshes itself every 5 seconds."""
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{st['waiting']}</td><td>{st['in_process']}</td><td>{st['servers']}</td>"
        f"<td>{', '.join(map(str, st['down'])) or '—'}</td></tr>"
        for n, st in s["stations"].items()
    )
    units = "".join(
        f"<tr><td>{html.escape(i)}</td><td>{c['released']}</td><td>{c['in_plant']}</td><td>{c['finished']}</td>"
        f"<td>{c['scrapped']}</td></tr>"
        for i, c in s["units"].items()
    )
    refused = "".join(f"<li>line {r['line']}: {html.escape(r['reason'])}</li>" for r in s["first_rejected"])
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em} table{border-collapse:collapse;margin:1em 0}"
        " td,th{border-bottom:1px solid #ddd;padding:2px 10px;text-align:right}"
        " td:first-child,th:first-child{text-align:left}"
    )
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="5"><title>{html.escape(name)} — the floor</title>'
        f"<style>{style}</style></head><body>"
    )
    counts = (
        f"{s['events_accepted']:,} events applied, {s['events_rejected']:,} refused, "
        f"{s['messages']:,} messages."
    )
    unit_head = "<tr><th>item</th><th>released</th><th>in plant</th><th>finished</th><th>scrapped</th></tr>"
    station_head = "<tr><th>station</th><th>waiting</th><th>in process</th><th>servers</th><th>down</th></tr>"
    return (
        f"{head}<h1>{html.escape(name)}: the floor at {s['now_hours']:g} h</h1><p>{counts}</p>"
        f"<table>{unit_head}{units}</table><table>{station_head}{rows}</table>"
        f"<ul>{refused}</ul>{_orders_html(forecast)}</body></html>"
    )


def follow(
    plant: Plant,
    broker: tuple[str, int],
    topic: str,
    listen: tuple[str, int],
    stop: threading.Event,
    ready: Callable[[int], None] = lambda port: None,
    *,
    forecast_every: float = 60.0,
    replications: int = 20,
    seed: int = 0,
) -> Follower:
    """Subscribe to ``topic`` on ``broker`` and serve the floor on ``listen`` until ``stop`` is set
    (``ready`` gets the HTTP port once both are up: 0 in ``listen`` picks a free one). Every
    ``forecast_every`` seconds (0: never), if events have arrived, the forecast is made again."""
    from http.server import ThreadingHTTPServer

    import paho.mqtt.client as mqtt

    follower = Follower(plant)
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    subscribed = threading.Event()

    def on_connect(c: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        c.subscribe(topic, qos=1)

    def on_subscribe(*_: Any) -> None:
        subscribed.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = lambda _c, _u, message: follower.on_payload(bytes(message.payload))
    client.connect(broker[0], broker[1], keepalive=30)
    client.loop_start()
    server = ThreadingHTTPServer(listen, _handler(follower))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()

    def forecasting() -> None:
        while not stop.wait(forecast_every):
            try:
                follower.update_forecast(replications, seed)
            except Exception as exc:  # a forecast that fails must not stop the follower; say why
                with follower.lock:
                    follower.forecast = {"status": f"forecast failed: {exc}", "now_hours": None}

    if forecast_every > 0:
        threading.Thread(target=forecasting, daemon=True).start()
    try:
        if not subscribed.wait(10):
            raise ConnectionError(f"no subscription to {topic!r} at {broker[0]}:{broker[1]} within 10 s")
        ready(server.server_address[1])
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        client.loop_stop()
        client.disconnect()
    return follower


def _host_port(text: str, option: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(default_port))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PlantInputError(f"{option} {text}: give HOST:PORT, e.g. 127.0.0.1:{default_port}")
    return host, int(port)


@plant_app.command("follow")
def follow_command(
    plant: PlantArg,
    mqtt: Annotated[str, typer.Option("--mqtt", help="The broker, HOST:PORT.")] = "127.0.0.1:1883",
    topic: Annotated[
        str, typer.Option("--topic", help="The topic the shop floor publishes its events on.")
    ] = ("aifactory/plant/events"),
    listen: Annotated[
        str, typer.Option("--listen", help="Serve the floor here, HOST:PORT.")
    ] = "127.0.0.1:8765",
    forecast_every: Annotated[
        float,
        typer.Option("--forecast-every", help="Seconds between forecasts when events arrived (0: none)."),
    ] = 60.0,
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=2, max=10_000, help="Runs per forecast.")
    ] = 20,
    overrides: SetOption = None,
) -> None:
    """Keep the floor current from shop-floor events on MQTT (one event, or lines of them, a message),
    and the forecast of its open units (P10/P50/P90, remade every --forecast-every seconds when events
    arrived); serve them as JSON at /state and /forecast and as a page at /. Malformed and out-of-order
    events are counted and refused, never applied. Stop with Ctrl-C."""
    p = _load(plant, overrides)
    broker = _host_port(mqtt, "--mqtt", 1883)
    where = _host_port(listen, "--listen", 8765)
    if not topic or any(c in topic for c in "+#\x00"):
        raise PlantInputError(f"--topic {topic!r}: give one topic (no wildcards + or #)")
    if not (math.isfinite(forecast_every) and 0 <= forecast_every <= 86_400):
        raise PlantInputError(f"--forecast-every {forecast_every:g}: give seconds from 0 (none) to 86400")
    console = Console(stderr=True)
    stop = threading.Event()

    def ready(port: int) -> None:
        console.print(f"following {topic} at {broker[0]}:{broker[1]}; the floor at http://{where[0]}:{port}/")

    try:
        follow(p, broker, topic, where, stop, ready, forecast_every=forecast_every, replications=replications)
    except (ConnectionError, OSError) as exc:
        raise PlantInputError(f"--mqtt {mqtt}: {exc}") from None
    except KeyboardInterrupt:
        stop.set()
