"""Prometheus metrics shared by every process. Prefix borgerting_, base units, no ids in labels."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "borgerting_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "borgerting_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter(
    "borgerting_events_published_total", "Events published to the broker by the relay", ["service", "event_type"]
)
OUTBOX_PUBLISHED = Counter("borgerting_outbox_published_total", "Outbox rows marked sent", ["service"])
OUTBOX_BACKLOG = Gauge("borgerting_outbox_backlog", "Outbox rows not yet sent", ["service"])
EVENTS_CONSUMED = Counter(
    "borgerting_events_consumed_total",
    "Events received by a consumer, by outcome (applied|duplicate|dead_lettered|failed)",
    ["service", "event_type", "outcome"],
)
EVENTS_IN_FLIGHT = Gauge("borgerting_events_in_flight", "Events being applied right now", ["service"])
CONSUMER_LAG = Gauge("borgerting_consumer_lag", "Messages behind the end of the topic", ["service", "topic"])
DEAD_LETTERS = Counter("borgerting_dead_letters_total", "Messages sent to the dead-letter topic", ["service"])


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
