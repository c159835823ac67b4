"""The site's own pages, served as HTML with latency and errors that grow under load and at peak."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, render_template_string

from simulators.population import server_error, server_latency_ms
from simulators.sites import SITES

bp = Blueprint("site", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ page.title }} · {{ site.title }}</title></head>
<body data-app="{{ site.name }}" data-page="{{ path }}">
<header><a href="/">{{ site.title }}</a> — a simulated {{ site.kind }}</header>
<main>
{% for section in page.sections %}
  <section data-section="{{ section }}"><h2>{{ section.replace('_', ' ').title() }}</h2>
  {% for s, element in page.buttons if s == section %}
    <button data-element="{{ element }}">{{ element.replace('_', ' ') }}</button>
  {% endfor %}
  </section>
{% endfor %}
</main>
<nav>{% for link in links %}<a href="{{ link }}">{{ link }}</a> {% endfor %}</nav>
</body></html>
"""

_inflight = 0
_inflight_lock = threading.Lock()
_rng = random.Random()


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def page(path: str):
    """Render one page of the site after its simulated server time."""
    global _inflight
    site = SITES[current_app.config["SITE"]]
    found = site.by_path.get("/" + path)
    if found is None:
        abort(404)
    page_type = site.pages[found[0]]
    with _inflight_lock:
        _inflight += 1
        inflight = _inflight
    try:
        hour = datetime.now(UTC).hour
        scale = current_app.config["LATENCY_SCALE"]
        if scale > 0:
            time.sleep(server_latency_ms(_rng, page_type.latency_ms, hour, inflight) * scale / 1000)
        status = server_error(_rng, hour, inflight) if current_app.config["INJECT_ERRORS"] else None
        if status:
            return f"<h1>{status}</h1><p>simulated server error</p>", status
        links = [site.pages[t].paths()[0] for t in site.transitions[page_type.name] if t in site.pages]
        return render_template_string(PAGE, site=site, page=page_type, path="/" + path, links=links)
    finally:
        with _inflight_lock:
            _inflight -= 1
