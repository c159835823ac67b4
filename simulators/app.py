"""Flask application factory of one simulated website with its collector."""

from __future__ import annotations

import atexit
import logging
import threading
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from clickstream.settings import SITES, get_settings
from simulators import collector, control, web
from simulators.ledger import Ledger, LedgerFlusher
from simulators.runner import Simulation
from simulators.sink import EventSink, spill_path_for


def create_app(site: str = "shop", test_config: dict | None = None) -> Flask:
    """Create the app of one simulated site: pages, collector and simulation control."""
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}; expected one of {SITES}")
    settings = get_settings()
    app = Flask(__name__)
    app.config.from_mapping(
        SITE=site,
        KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        TOPIC_EVENTS=settings.topic_events,
        TOPIC_DLQ=settings.topic_dlq,
        SELF_URL=f"http://127.0.0.1:{settings.sites[site]}",
        LEDGER_URI=settings.table_path("sim_ledger"),
        LEDGER_FLUSH_S=5.0,
        SPILL_DIR=str(settings.data_dir),
        MAX_CONTENT_LENGTH=1024 * 1024,  # 413 above 1 MiB
        MAX_EVENTS_PER_REQUEST=1000,
        SINK_CAPACITY=200_000,
        SINK_STALL_S=2.0,
        LATENCY_SCALE=1.0,  # 0 disables simulated server time (benchmarks)
        INJECT_ERRORS=True,
        TRUSTED_PROXIES=1,  # X-Forwarded-For hops to trust for the client IP
    )
    if test_config is None:
        app.config.from_prefixed_env("CLICKSTREAM_SITE")
    else:
        app.config.from_mapping(test_config)
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["TRUSTED_PROXIES"]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    ledger = Ledger(site, app.config["LEDGER_URI"])
    sink = EventSink(app.config["KAFKA_BOOTSTRAP"], ledger,
                     spill_path_for(Path(app.config["SPILL_DIR"]), site),
                     capacity=app.config["SINK_CAPACITY"], stall_s=app.config["SINK_STALL_S"])
    flusher = LedgerFlusher(ledger, app.config["LEDGER_FLUSH_S"])
    flusher.start()
    simulation = Simulation(site, app.config["SELF_URL"], ledger)
    app.extensions.update({
        "clickstream.ledger": ledger,
        "clickstream.sink": sink,
        "clickstream.simulation": simulation,
    })  # fmt: skip

    closed = threading.Event()

    def shutdown() -> None:
        if closed.is_set():
            return
        closed.set()
        # The users first: each posts or accounts as unsent what it holds (its collector is this process,
        # which serves no more requests by now). Then the producer's last acknowledgements, then the
        # ledger's last flush, so that the stopped hour reconciles.
        simulation.settle_stop(timeout=5)
        sink.close(timeout=10)
        flusher.stop()

    app.extensions["clickstream.shutdown"] = shutdown
    atexit.register(shutdown)

    app.register_blueprint(collector.bp)
    app.register_blueprint(control.bp)

    @app.get("/healthz")
    def healthz():
        """Report liveness and whether the broker is taking events."""
        return jsonify(status="ok", site=site, broker_available=sink.available())

    app.register_blueprint(web.bp)  # last: its catch-all route serves the site's pages
    return app
