"""Control API of a site's simulation: status, start, stop, backfill, ledger flush."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

from flask import Blueprint, current_app, jsonify, request

from simulators.runner import Simulation, SimulationParams

bp = Blueprint("simulation", __name__, url_prefix="/simulation")

_PARAM_NAMES = {f.name for f in fields(SimulationParams)}


def _sim() -> Simulation:
    return current_app.extensions["clickstream.simulation"]


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        raise ValueError("body must be a JSON object")
    body = body or {}
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


@bp.errorhandler(ValueError)
def bad_request(exc: ValueError):
    """Answer invalid parameters with 400 and the reason."""
    return jsonify(error=str(exc)), 400


@bp.get("")
def status():
    """Report state, parameters, rates and counters."""
    return jsonify(_sim().status())


@bp.post("/start")
def start():
    """Start live users: {users, rate, seed, duration_s, bot_share, malformed_share}."""
    body = _json_object()
    unknown = set(body) - _PARAM_NAMES
    if unknown:
        raise ValueError(f"unknown parameters: {sorted(unknown)}")
    try:
        params = SimulationParams(**body)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    sim = _sim()
    if sim.running:
        return jsonify(error="a simulation is already running; stop it first",
                       status=sim.status()), 409
    sim.start(params)
    return jsonify(sim.status()), 202


@bp.post("/stop")
def stop():
    """Stop live users after they post what they buffered."""
    sim = _sim()
    sim.stop()
    current_app.extensions["clickstream.ledger"].flush()
    return jsonify(sim.status())


@bp.post("/backfill")
def backfill():
    """Generate past days through the collector: {start_date, end_date, events_per_day, seed}."""
    body = _json_object()
    try:
        start_date = date.fromisoformat(body["start_date"])
        end_date = date.fromisoformat(body.get("end_date", body["start_date"]))
    except KeyError as exc:
        raise ValueError(f"missing {exc.args[0]}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"dates must be YYYY-MM-DD: {exc}") from exc
    job = _sim().backfill(
        start_date, end_date, int(body.get("events_per_day", 20_000)),
        seed=int(body.get("seed", 42)),
        bot_share=float(body.get("bot_share", 0.05)),
        malformed_share=float(body.get("malformed_share", 0.01)),
    )
    return jsonify(job), 202


@bp.post("/flush")
def flush():
    """Write the ledger to the warehouse now; report the sink's state."""
    sink = current_app.extensions["clickstream.sink"]
    outstanding = sink.flush(10)
    files = current_app.extensions["clickstream.ledger"].flush()
    return jsonify(files_written=files, outstanding=outstanding, sink=sink.status())
