"""What an operator watches, in Prometheus's format: counts and timings, never people.

Labels are closed vocabularies (update kinds, outcomes, states); no id, name or text
ever becomes a label. The console serves them on ``/metrics``.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter("jobbot_updates_total", "Updates handled, by kind.", ["kind"],
                  registry=REGISTRY)
UPDATE_SECONDS = Histogram(
    "jobbot_update_seconds", "Time from receiving an update to its last reply sent.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY)
SENDS = Counter("jobbot_sends_total", "Outbox messages by outcome of the send.", ["outcome"],
                registry=REGISTRY)
TELEGRAM_429 = Counter("jobbot_telegram_429_total",
                       "Times Telegram asked the bot to wait (HTTP 429).", registry=REGISTRY)
DISPATCHER_HEARTBEAT = Gauge("jobbot_dispatcher_heartbeat_seconds",
                             "Unix time the dispatcher last looked for due messages.",
                             registry=REGISTRY)


def update_kind(update: object) -> str:
    """A closed label for an update: message, command, button, location or other."""
    message = getattr(update, "message", None)
    if getattr(update, "callback_query", None) is not None:
        return "button"
    if message is not None:
        if getattr(message, "location", None) is not None:
            return "location"
        text = getattr(message, "text", None) or ""
        return "command" if text.startswith("/") else "message"
    return "other"


def beat() -> None:
    DISPATCHER_HEARTBEAT.set(time.time())
