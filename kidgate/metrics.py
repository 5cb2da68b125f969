"""Counters for monitoring (Prometheus text format at the admin app's ``/metrics``).

One registry per process: the proxy's hooks count decisions and classifier calls, the admin
app (a thread of the same ``kidgate run``) serves them. Labels are the category vocabulary,
the verdict's source and the phase, never hosts or profiles, so the number of series stays
small and no browsing history leaks into a monitoring system.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("kidgate_decisions", "Decisions made, by phase and action",
                   ["phase", "action"], registry=REGISTRY)
BLOCKS = Counter("kidgate_blocks", "Blocks, by category and the source of the deciding reason",
                 ["category", "source"], registry=REGISTRY)
ERRORS = Counter("kidgate_detector_errors", "Detector failures and timeouts (fail-safe applied)",
                 ["detector"], registry=REGISTRY)
CLASSIFIER = Histogram("kidgate_classifier_seconds", "Time for one classifier answer",
                       ["kind"], registry=REGISTRY,
                       buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
LIST_ENTRIES = Gauge("kidgate_list_entries", "Entries in the lists in use", registry=REGISTRY)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


#: Labelled series already looked up: ``labels()`` takes a lock and checks its arguments on
#: every call, and every request is counted. Bounded: labels come from small vocabularies.
_SERIES: dict[tuple, Any] = {}


def series(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once."""
    key = (metric, labels)
    child = _SERIES.get(key)
    if child is None:
        child = _SERIES[key] = metric.labels(*labels)
    return child


def count_decision(phase: str, action: str, category: str | None, source: str | None) -> None:
    series(REQUESTS, phase, action).inc()
    if action == "block":
        series(BLOCKS, category or "none", source or "none").inc()


def watch_list_entries(entries: Callable[[], float]) -> None:
    """Read the list size when scraped (the store can be swapped by an update)."""
    LIST_ENTRIES.set_function(entries)


def render() -> bytes:
    return generate_latest(REGISTRY)
