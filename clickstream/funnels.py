"""The platform's funnels: on each site, the ordered pages a visit must reach to convert.

This is the analytics' own definition (the daily job's ``daily_funnels`` counts against it); the
simulated sites take their funnel's page types from here, so the simulated users walk the funnel
the platform measures. Steps are regular expressions over the page path. No Spark here: the
simulators import it.
"""

from __future__ import annotations

from dataclasses import dataclass

FUNNEL_WINDOW_S = 60 * 60


@dataclass(frozen=True)
class Funnel:
    """One app's ordered funnel: (step name, page-path regex) pairs; a step's name is its page type."""

    app_id: str
    name: str
    steps: tuple[tuple[str, str], ...]

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.steps)


FUNNELS: tuple[Funnel, ...] = (
    Funnel("shop", "main", (
        ("home", r"^/$"), ("products", r"^/products$"), ("product", r"^/products/[^/]+$"),
        ("cart", r"^/cart$"), ("checkout", r"^/checkout$"), ("confirmation", r"^/order/confirmation$"),
    )),
    Funnel("news", "main", (
        ("home", r"^/$"), ("article", r"^/article/[^/]+$"), ("subscribe", r"^/subscribe$"),
        ("confirmation", r"^/subscribe/welcome$"),
    )),
    Funnel("saas", "main", (
        ("home", r"^/$"), ("pricing", r"^/pricing$"), ("signup", r"^/signup$"),
        ("onboarding", r"^/app/onboarding$"), ("dashboard", r"^/app/dashboard$"),
        ("upgrade", r"^/app/upgrade$"), ("confirmation", r"^/app/upgrade/done$"),
    )),
)  # fmt: skip


def funnel_of(app_id: str) -> Funnel:
    """Return the funnel of one app."""
    return next(f for f in FUNNELS if f.app_id == app_id)
