"""Prometheus metrics, one registry per application (so tests and replicas never share state).

Labels are closed sets (source, outcome, target, result, trigger, step): never ids, phone numbers
or anything secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

MetricT = TypeVar("MetricT", bound=MetricWrapperBase)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = field(
        default_factory=dict, repr=False
    )

    def child(self, metric: MetricT, *values: str) -> MetricT:
        """`metric.labels(*values)`, remembered: label sets are closed, and `labels()` takes a
        lock and validates on every call (several per webhook and per delivery)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]

    def __post_init__(self) -> None:
        r = self.registry
        self.webhooks = Counter(
            "bridge_webhooks_total",
            "Webhook deliveries by source and outcome (stored, duplicate, ignored, rejected)",
            ["source", "outcome"],
            registry=r,
        )
        self.event_latency = Histogram(
            "bridge_event_processing_seconds",
            "From webhook accepted to processed by its flow",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "bridge_outbox_deliveries_total",
            "Outbound calls by target system and result (delivered, retry, dead)",
            ["target", "result"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "bridge_outbox_delivery_seconds",
            "Duration of one outbound call",
            ["target"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "bridge_outbox_pending", "Outbound calls waiting to be delivered", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "bridge_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbound call",
            registry=r,
        )
        self.transitions = Counter(
            "bridge_fsm_transitions_total",
            "Contact state changes by trigger",
            ["trigger"],
            registry=r,
        )
        self.provisioning_steps = Counter(
            "bridge_provisioning_steps_total",
            "Employee provisioning steps by step and result",
            ["step", "result"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def target_of(kind: str) -> str:
    """`evolution.send_text` → `evolution`: the system an outbox kind calls."""
    return kind.split(".", 1)[0]
