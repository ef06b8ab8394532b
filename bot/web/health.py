"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers and Prometheus, no sign-in.

``/healthz`` answers while the process runs. ``/readyz`` is 200 only when the database
answers, its schema is at the code's migrations, and this process's dispatcher has
looked for due messages recently; otherwise 503, with what failed. ``/metrics`` is the
bot's registry plus the outbox, counted when scraped. No label holds personal data.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from bot import metrics
from bot.services.system import health
from bot.web.base import console_of

log = logging.getLogger(__name__)

# The dispatcher runs at least every 30 seconds (scheduler/jobs.py); a heartbeat older
# than a few runs means it has stopped.
HEARTBEAT_STALE_SECONDS = 120.0
DATABASE_TIMEOUT_SECONDS = 5.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    console = console_of(request)
    checks: dict[str, str] = {}
    try:
        revisions = await asyncio.wait_for(
            console.runtime.database.run(health.schema_revisions), DATABASE_TIMEOUT_SECONDS)
    except Exception as error:  # unreachable, refused, timed out: not ready, whatever it was
        log.warning("readiness: database check failed (%s)", type(error).__name__)
        checks["database"] = f"unreachable ({type(error).__name__})"
        checks["migrations"] = "unknown"
    else:
        checks["database"] = "ok"
        if revisions == console.heads:
            checks["migrations"] = "ok"
        else:
            checks["migrations"] = (f"database at {', '.join(sorted(revisions)) or 'none'}, "
                                    f"code at {', '.join(sorted(console.heads))}: "
                                    "run 'jobbot db upgrade'")
    checks["dispatcher"] = _dispatcher(console.wall_clock())
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503)


def _dispatcher(now: float) -> str:
    beat = metrics.REGISTRY.get_sample_value("jobbot_dispatcher_heartbeat_seconds") or 0.0
    if beat <= 0:
        return "no heartbeat yet"
    age = now - beat
    if age > HEARTBEAT_STALE_SECONDS:
        return f"last heartbeat {age:.0f} s ago"
    return "ok"


async def metrics_page(request: web.Request) -> web.Response:
    console = console_of(request)
    scrape = CollectorRegistry(auto_describe=True)
    up = Gauge("jobbot_database_up", "1 if the database answered this scrape.",
               registry=scrape)
    try:
        clock = console.runtime.clock
        depth = await asyncio.wait_for(
            console.runtime.database.run(lambda db: health.outbox_depth(db, clock.now())),
            DATABASE_TIMEOUT_SECONDS)
    except Exception as error:
        log.warning("metrics: outbox not counted (%s)", type(error).__name__)
        up.set(0)
    else:
        up.set(1)
        rows = Gauge("jobbot_outbox_messages", "Outbox messages by state.", ["state"],
                     registry=scrape)
        for state, count in depth.by_state.items():
            rows.labels(state).set(count)
        Gauge("jobbot_outbox_oldest_due_seconds",
              "How long the oldest due, unsent outbox message has waited (0: none).",
              registry=scrape).set(depth.oldest_due_seconds)
    body = generate_latest(metrics.REGISTRY) + generate_latest(scrape)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
