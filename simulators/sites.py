"""The three simulated websites: pages, sections, buttons, navigation and funnels.

Each site is data: page types (a path, named sections, buttons, a typical
dwell time and server latency), transition weights between page types
(including exit), entry pages per traffic channel, and the ordered funnel.
Templated pages (``/products/{slug}``) pick their slug from a Zipf law, so
page popularity is heavy-tailed as on real sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clickstream.funnels import funnel_of

EXIT = "exit"


@dataclass(frozen=True)
class PageType:
    """One kind of page of a site."""

    name: str
    path: str  # "/products/{slug}" for templated pages
    title: str
    sections: tuple[str, ...]
    buttons: tuple[tuple[str, str], ...] = ()  # (section, element)
    slugs: tuple[str, ...] = ()
    dwell_s: float = 20.0  # median time on page of a human visitor
    latency_ms: int = 60  # median server time to render

    def paths(self) -> list[str]:
        """Return every concrete path of this page type."""
        if not self.slugs:
            return [self.path]
        return [self.path.format(slug=s) for s in self.slugs]


@dataclass(frozen=True)
class Site:
    """A simulated website."""

    name: str
    title: str
    kind: str
    pages: dict[str, PageType]
    transitions: dict[str, dict[str, float]]
    entries: dict[str, dict[str, float]]  # channel -> entry page type -> weight
    funnel: tuple[str, ...]  # page types, in order (the platform's: clickstream.funnels)
    conversion_page: str  # a page_view here is followed by a purchase event
    cart_button: tuple[str, str] | None = None  # (page type, element) that adds to cart
    price_range: tuple[float, float] = (5.0, 200.0)
    by_path: dict[str, tuple[str, str | None]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name, page in self.pages.items():
            if page.slugs:
                for slug in page.slugs:
                    self.by_path[page.path.format(slug=slug)] = (name, slug)
            else:
                self.by_path[page.path] = (name, None)
        for src, targets in self.transitions.items():
            unknown = (set(targets) | {src}) - set(self.pages) - {EXIT}
            if unknown:
                raise ValueError(f"{self.name}: unknown page types {unknown}")

    def all_paths(self) -> list[str]:
        """Return every concrete path of the site."""
        return list(self.by_path)


def _slugs(prefix: str, words: list[str]) -> tuple[str, ...]:
    return tuple(f"{prefix}{w}" for w in words)


SHOP = Site(
    name="shop",
    title="Northwind Outfitters",
    kind="e-commerce shop",
    pages={
        "home": PageType("home", "/", "Home", ("hero", "featured_products", "recommendation_grid",
                         "newsletter_signup"), (("hero", "shop_now"), ("newsletter_signup", "subscribe")),
                         dwell_s=15, latency_ms=80),
        "products": PageType("products", "/products", "All products", ("filters", "product_list",
                             "pagination"), (("filters", "apply_filter"), ("pagination", "next_page")),
                             dwell_s=25, latency_ms=120),
        "product": PageType("product", "/products/{slug}", "Product", ("gallery", "product_info",
                            "reviews", "recommendation_grid"), (("product_info", "add_to_cart"),
                            ("gallery", "zoom"), ("reviews", "read_more")),
                            slugs=_slugs("", [
                                "trail-runner", "rain-shell", "down-jacket", "wool-socks", "day-pack",
                                "camp-stove", "headlamp", "trek-poles", "fleece-hoodie", "sun-hat",
                                "water-filter", "sleeping-bag", "tent-2p", "hiking-boots", "base-layer",
                                "gloves", "beanie", "map-case", "first-aid-kit", "compass", "mug",
                                "bottle", "gaiters", "dry-bag", "hammock", "lantern", "knife",
                                "rope", "shorts", "tee"]),
                            dwell_s=35, latency_ms=150),
        "search": PageType("search", "/search", "Search", ("search_box", "search_results"),
                           (("search_box", "search"),), dwell_s=12, latency_ms=200),
        "cart": PageType("cart", "/cart", "Your cart", ("cart_items", "promo_code", "checkout_cta"),
                         (("checkout_cta", "checkout"), ("promo_code", "apply_code")),
                         dwell_s=20, latency_ms=90),
        "checkout": PageType("checkout", "/checkout", "Checkout", ("checkout_form", "payment_form",
                             "order_review"), (("payment_form", "place_order"),),
                             dwell_s=60, latency_ms=250),
        "confirmation": PageType("confirmation", "/order/confirmation", "Thank you",
                                 ("order_summary", "recommendation_grid"), dwell_s=10, latency_ms=100),
        "help": PageType("help", "/help", "Help", ("faq", "contact_form"), (("faq", "expand"),),
                         dwell_s=30, latency_ms=60),
    },
    transitions={
        "home": {"products": 45, "product": 20, "search": 12, "help": 3, EXIT: 20},
        "products": {"product": 60, "products": 8, "search": 7, "home": 5, EXIT: 20},
        "product": {"cart": 22, "product": 30, "products": 18, "home": 4, EXIT: 26},
        "search": {"product": 55, "products": 15, "search": 8, EXIT: 22},
        "cart": {"checkout": 50, "product": 15, "products": 8, EXIT: 27},
        "checkout": {"confirmation": 58, "cart": 10, EXIT: 32},
        "confirmation": {"home": 20, "products": 15, EXIT: 65},
        "help": {"home": 30, "products": 20, EXIT: 50},
    },
    entries={
        "direct": {"home": 80, "products": 10, "cart": 10},
        "search": {"product": 55, "products": 25, "home": 20},
        "social": {"product": 60, "home": 40},
        "email": {"products": 50, "product": 30, "home": 20},
        "paid": {"products": 60, "product": 40},
        "referral": {"product": 50, "home": 50},
    },
    funnel=funnel_of("shop").step_names,
    conversion_page="confirmation",
    cart_button=("product", "add_to_cart"),
    price_range=(8.0, 320.0),
)

NEWS = Site(
    name="news",
    title="The Daily Ledger",
    kind="news site",
    pages={
        "home": PageType("home", "/", "Front page", ("hero", "top_stories", "trending",
                         "newsletter_signup"), (("newsletter_signup", "subscribe"),
                         ("top_stories", "open_story")), dwell_s=18, latency_ms=70),
        "section": PageType("section", "/section/{slug}", "Section", ("section_header", "story_list",
                            "trending"), (("story_list", "load_more"),),
                            slugs=("world", "technology", "business", "sports", "culture", "science"),
                            dwell_s=15, latency_ms=90),
        "article": PageType("article", "/article/{slug}", "Article", ("headline", "article_body",
                            "related_stories", "comments", "paywall_banner"),
                            (("comments", "post_comment"), ("paywall_banner", "subscribe_cta"),
                             ("article_body", "share")),
                            slugs=_slugs("story-", [f"{i:03d}" for i in range(1, 61)]),
                            dwell_s=55, latency_ms=110),
        "search": PageType("search", "/search", "Search", ("search_box", "search_results"),
                           (("search_box", "search"),), dwell_s=10, latency_ms=180),
        "subscribe": PageType("subscribe", "/subscribe", "Subscribe", ("plans", "faq", "subscribe_form"),
                              (("plans", "choose_plan"), ("subscribe_form", "pay")),
                              dwell_s=40, latency_ms=140),
        "confirmation": PageType("confirmation", "/subscribe/welcome", "Welcome", ("welcome",),
                                 dwell_s=8, latency_ms=80),
    },
    transitions={
        "home": {"article": 55, "section": 20, "search": 4, "subscribe": 3, EXIT: 18},
        "section": {"article": 65, "section": 10, "home": 5, EXIT: 20},
        "article": {"article": 38, "section": 10, "home": 8, "subscribe": 6, EXIT: 38},
        "search": {"article": 70, EXIT: 30},
        "subscribe": {"confirmation": 35, "article": 15, EXIT: 50},
        "confirmation": {"home": 50, EXIT: 50},
    },
    entries={
        "direct": {"home": 85, "section": 15},
        "search": {"article": 85, "section": 15},
        "social": {"article": 95, "home": 5},
        "email": {"article": 60, "home": 40},
        "paid": {"subscribe": 60, "article": 40},
        "referral": {"article": 90, "home": 10},
    },
    funnel=funnel_of("news").step_names,
    conversion_page="confirmation",
    price_range=(4.99, 14.99),
)

SAAS = Site(
    name="saas",
    title="Metricly",
    kind="SaaS product",
    pages={
        "home": PageType("home", "/", "Metricly", ("hero", "logos", "feature_grid", "testimonials",
                         "pricing_teaser"), (("hero", "start_trial"), ("pricing_teaser", "see_pricing")),
                         dwell_s=20, latency_ms=60),
        "features": PageType("features", "/features", "Features", ("feature_grid", "demo_video",
                             "integrations"), (("demo_video", "play"),), dwell_s=30, latency_ms=80),
        "pricing": PageType("pricing", "/pricing", "Pricing", ("plans", "comparison_table", "faq"),
                            (("plans", "choose_plan"), ("faq", "expand")), dwell_s=35, latency_ms=70),
        "signup": PageType("signup", "/signup", "Sign up", ("signup_form",),
                           (("signup_form", "create_account"),), dwell_s=45, latency_ms=200),
        "onboarding": PageType("onboarding", "/app/onboarding", "Welcome", ("checklist", "connect_source"),
                               (("connect_source", "connect"),), dwell_s=60, latency_ms=220),
        "dashboard": PageType("dashboard", "/app/dashboard", "Dashboard", ("kpi_tiles", "charts",
                              "alerts_panel"), (("charts", "change_range"),), dwell_s=50, latency_ms=350),
        "upgrade": PageType("upgrade", "/app/upgrade", "Upgrade", ("plans", "billing_form"),
                            (("billing_form", "upgrade"),), dwell_s=40, latency_ms=240),
        "confirmation": PageType("confirmation", "/app/upgrade/done", "Upgraded", ("receipt",),
                                 dwell_s=8, latency_ms=90),
        "docs": PageType("docs", "/docs/{slug}", "Docs", ("doc_body", "toc", "feedback"),
                         (("feedback", "helpful"), ("toc", "jump")),
                         slugs=("quickstart", "api", "sdk-python", "sdk-js", "webhooks", "alerts",
                                "dashboards", "sso", "billing", "limits", "exports", "faq", "sdk-go",
                                "sdk-java", "terraform", "audit-log", "roles", "retention", "csv-import",
                                "slack", "pagerduty", "status-page", "changelog", "glossary"),
                         dwell_s=50, latency_ms=90),
    },
    transitions={
        "home": {"features": 30, "pricing": 25, "signup": 10, "docs": 12, EXIT: 23},
        "features": {"pricing": 40, "signup": 12, "docs": 15, "home": 5, EXIT: 28},
        "pricing": {"signup": 35, "features": 15, "docs": 8, EXIT: 42},
        "signup": {"onboarding": 62, "pricing": 8, EXIT: 30},
        "onboarding": {"dashboard": 70, "docs": 10, EXIT: 20},
        "dashboard": {"upgrade": 18, "dashboard": 30, "docs": 15, EXIT: 37},
        "upgrade": {"confirmation": 45, "dashboard": 20, EXIT: 35},
        "confirmation": {"dashboard": 60, EXIT: 40},
        "docs": {"docs": 45, "pricing": 10, "signup": 5, "home": 5, EXIT: 35},
    },
    entries={
        "direct": {"home": 60, "dashboard": 40},
        "search": {"docs": 50, "home": 30, "features": 20},
        "social": {"home": 50, "features": 50},
        "email": {"dashboard": 60, "pricing": 40},
        "paid": {"pricing": 55, "home": 45},
        "referral": {"docs": 40, "home": 60},
    },
    funnel=funnel_of("saas").step_names,
    conversion_page="confirmation",
    price_range=(29.0, 499.0),
)

SITES: dict[str, Site] = {s.name: s for s in (SHOP, NEWS, SAAS)}
