"""FastAPI application: ``/healthz``, ``/feeds`` and ``/metrics``.

Health is ``ok`` when the database answers and no feed is failing, ``degraded`` when some
feeds fail, are disabled or hold leases past their expiry (a stuck poller), and ``down``
(HTTP 503) when the database cannot be reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.store.feeds import FeedHealth, list_health
from service.views import feed_json


def health_report(feeds: list[FeedHealth], *, now: datetime) -> dict[str, Any]:
    by_status = Counter(f.status for f in feeds)
    stuck = [f.name for f in feeds if f.lease_expires_at is not None and f.lease_expires_at < now]
    degraded = by_status["failing"] or by_status["disabled"] or stuck
    return {
        "status": "degraded" if degraded else "ok",
        "database": "ok",
        "feeds": {status: by_status.get(status, 0) for status in ("ok", "new", "failing", "disabled")},
        "failing_feeds": [f.name for f in feeds if f.status == "failing"],
        "disabled_feeds": [f.name for f in feeds if f.status == "disabled"],
        "stuck_leases": stuck,
    }


def create_app(engine: Engine, *, clock: Callable[[], datetime]) -> FastAPI:
    app = FastAPI(title="rivalwatch", docs_url=None, redoc_url=None)

    def load() -> list[FeedHealth] | None:
        try:
            with engine.connect() as conn:
                return list_health(conn)
        except SQLAlchemyError:
            return None

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        feeds = load()
        if feeds is None:
            return JSONResponse({"status": "down", "database": "unreachable"}, status_code=503)
        return JSONResponse(health_report(feeds, now=clock()))

    @app.get("/feeds")
    def feeds() -> JSONResponse:
        found = load()
        if found is None:
            return JSONResponse({"error": "database unreachable"}, status_code=503)
        return JSONResponse([feed_json(f) for f in found])

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
