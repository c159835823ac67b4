"""Flask application factory of one simulated website."""

from __future__ import annotations

from flask import Flask, jsonify

from clickstream.settings import SITES


def create_app(site: str = "shop", test_config: dict | None = None) -> Flask:
    """Create the app of one simulated site."""
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}; expected one of {SITES}")
    app = Flask(__name__)
    app.config.from_mapping(SITE=site)
    if test_config is None:
        app.config.from_prefixed_env("CLICKSTREAM_SITE")
    else:
        app.config.from_mapping(test_config)

    @app.get("/healthz")
    def healthz():
        """Report liveness."""
        return jsonify(status="ok", site=app.config["SITE"])

    return app
