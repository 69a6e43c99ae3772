"""Prometheus metrics: the 2FA gauges and the web app's request metrics, in one registry
per app instance (never prometheus_client's global one, so several apps in one process,
as in the tests, do not collide).

- **2FA gauges** are collected at scrape time from the cached current figures
  (:mod:`bastion.metrics.current`): the ``/metrics`` route refreshes the cache, then
  :class:`TwoFactorCollector` turns the figures into gauge families.
- **Request metrics** (``bastion_http_requests_total`` by method, route template and
  status; ``bastion_http_request_duration_seconds``) are counted by
  ``web.request_metrics.RequestMetricsMiddleware`` on the FastAPI app. Labels use the
  route's template (``/project/{name}/``), never the raw path, so their number stays
  bounded.
- **The fast read path** (``/simple``, ``/files``) bypasses the FastAPI app. It gets one
  plain integer increment per request (:class:`FastPathCounter`), exposed as
  ``bastion_fast_path_requests_total``: no histogram, no labels, no lock, no allocation.

Each process keeps its own request counters (with several workers, scrape each one or
sum them); the 2FA gauges come from the database and agree across processes.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bastion.metrics.figures import TwoFactorFigures

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# (metric name, help, figure) for the plain gauges; the by-method gauge is built apart.
GAUGES: tuple[tuple[str, str, str], ...] = (
    ("bastion_users", "Active user accounts.", "users"),
    ("bastion_users_with_2fa", "Active users with any second factor.", "users_with_2fa"),
    (
        "bastion_users_two_or_more_security_keys",
        "Active users with two or more security keys.",
        "two_or_more_security_keys",
    ),
    (
        "bastion_users_with_recovery_codes",
        "Active users with unused recovery codes.",
        "with_recovery_codes",
    ),
    (
        "bastion_critical_projects",
        "Critical projects (designated names, as `bastion critical list` shows them).",
        "critical_projects",
    ),
    (
        "bastion_critical_maintainers",
        "Distinct active owners and maintainers of critical projects.",
        "critical_maintainers",
    ),
    (
        "bastion_critical_maintainers_with_2fa",
        "Distinct critical-project owners and maintainers with 2FA.",
        "critical_maintainers_with_2fa",
    ),
    (
        "bastion_critical_projects_all_maintainers_2fa",
        "Critical projects whose every owner and maintainer has 2FA.",
        "critical_projects_all_2fa",
    ),
)
BY_METHOD: tuple[tuple[str, str], ...] = (
    ("totp_only", "totp_only"),
    ("security_key_only", "security_key_only"),
    ("both", "totp_and_security_key"),
)


class FastPathCounter:
    """Requests served by the fast read path; app.py adds one per request."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class TwoFactorCollector(Collector):
    """Yields the 2FA gauges from the figures the last scrape loaded (none before it)."""

    def __init__(self) -> None:
        self.figures: TwoFactorFigures | None = None

    def collect(self) -> Iterable[Metric]:
        figures = self.figures
        if figures is None:
            return
        for name, help_text, field in GAUGES:
            yield GaugeMetricFamily(name, help_text, value=getattr(figures, field))
        by_method = GaugeMetricFamily(
            "bastion_users_with_2fa_by_method",
            "Active users with 2FA by their mix of methods (each user in one method).",
            labels=["method"],
        )
        for label, field in BY_METHOD:
            by_method.add_metric([label], getattr(figures, field))
        yield by_method


class FastPathCollector(Collector):
    def __init__(self, counter: FastPathCounter) -> None:
        self.counter = counter

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "bastion_fast_path_requests",
            "Requests served by the fast read path (/simple and /files), this process.",
            value=self.counter.count,
        )


class MetricsState:
    """One app instance's registry and the metrics in it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "bastion_http_requests",
            "HTTP requests handled by the web app.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bastion_http_request_duration_seconds",
            "Time from request to the end of the response, web app only.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.two_factor = TwoFactorCollector()
        self.registry.register(self.two_factor)
        self.fast_path = FastPathCounter()
        self.registry.register(FastPathCollector(self.fast_path))
