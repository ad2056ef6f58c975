"""FastAPI application: the console (``api.console``, at ``/``) and ``/healthz``, ``/feeds``,
``/alerts``, ``/metrics``.

Health is ``ok`` when the database answers and nothing is wrong, ``degraded`` when some feeds
fail, are gone (HTTP 410) or hold leases past their expiry (a stuck poller), a delivery channel is
broken (Slack 403/404/410) or the rules directory holds files that failed validation (the
service keeps running on the last good version; ``rules.problems`` says what is wrong), and
``down`` (HTTP 503) when the database cannot be reached or cannot be written to (a full disk, a
read-only file: reads still work, the service's own writes fail), with the problem in one line
and how long it has lasted. Every channel's queue depth and oldest waiting message are shown
too, and the rules version in force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Connection, Engine
from starlette.middleware.trustedhost import TrustedHostMiddleware

from service.alerts.model import MAX_ALERT_ID, STATUSES, Alert
from service.api.console import console_router, text_param
from service.api.writes import WritePolicy
from service.metrics import record_channel_gauges
from service.rulebook import RulesState
from service.store import db
from service.store.alerts import list_alerts
from service.store.channel_state import channel_health
from service.store.feeds import list_health
from service.store.watch import DatabaseWatch, Outage
from service.views import alert_json, feed_json, health_report

T = TypeVar("T")
MAX_ALERTS = 1000
ALERT_FILTERS = ("status", "rule", "feed", "since", "before", "limit", "q")


def _in_calendar(moment: datetime) -> bool:
    """Whether ``moment`` can be compared in UTC (year 1 at +01:00 cannot)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _unusable_query(request: Request) -> str | None:
    """Why the query cannot be answered as asked, or None: a parameter /alerts does not know, or
    one given twice (a filter the client thinks it applied would be ignored), or a value with a
    NUL byte or bytes that are not UTF-8 (which would be searched for as something else)."""
    unknown = sorted(set(request.query_params) - set(ALERT_FILTERS))
    if unknown:
        return f"unknown parameter {', '.join(unknown)}; /alerts takes {', '.join(ALERT_FILTERS)}"
    repeated = sorted({k for k in request.query_params if len(request.query_params.getlist(k)) > 1})
    if repeated:
        return f"{', '.join(repeated)} given more than once; each filter takes one value"
    garbled = sorted({k for k, v in request.query_params.multi_items() if "\x00" in v or "\ufffd" in v})
    if garbled:
        return f"{', '.join(garbled)}: a NUL byte or bytes that are not UTF-8"
    return None


def down_report(outage: Outage | None) -> dict[str, Any]:
    """``/healthz`` while the database cannot serve the service."""
    if outage is None:
        return {"status": "down", "database": "unreachable"}
    return {
        "status": "down",
        "database": outage.trouble.kind.value,
        "problem": outage.trouble.message,
        "down_s": round(outage.down_s),
    }


def create_app(
    engine: Engine,
    *,
    clock: Callable[[], datetime],
    rules: Callable[[], RulesState] | None = None,
    watch: DatabaseWatch | None = None,
    timezone: str = "UTC",
    writes: WritePolicy | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The API and the console; ``writes`` says who may give feedback (default: anyone, as on a
    console that listens on this machine only); ``allowed_hosts``: the only ``Host`` names a
    request may carry (None: any)."""
    app = FastAPI(title="rivalwatch", docs_url=None, redoc_url=None)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    database = watch or DatabaseWatch.of(engine)

    def read(work: Callable[[Connection], T]) -> T | None:
        """``work`` in one read-only connection."""

        def in_connection() -> T:
            with engine.connect() as conn:
                return work(conn)

        return database.attempt_now("api", in_connection, wrote=False)

    def write(work: Callable[[Connection], None]) -> bool:
        """``work`` in one write transaction; False when the database is in trouble."""

        def in_transaction() -> bool:
            db.run_transaction(engine, work)
            return True

        return database.attempt_now("api", in_transaction, wrote=True) is not None

    app.include_router(
        console_router(
            read=read,
            write=write,
            clock=clock,
            rules=rules,
            tz=ZoneInfo(timezone),
            policy=writes or WritePolicy(local_only=True, token=None, user_header=None),
        )
    )

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        now = clock()
        found = read(lambda conn: (list_health(conn), channel_health(conn, now=now)))
        outage = database.outage()
        if found is None or outage is not None:
            return JSONResponse(down_report(outage), status_code=503)
        return JSONResponse(health_report(*found, now=now, rules=rules() if rules else None))

    @app.get("/feeds")
    def feeds() -> JSONResponse:
        found = read(list_health)
        if found is None:
            return JSONResponse({"error": "database unreachable"}, status_code=503)
        return JSONResponse([feed_json(f) for f in found])

    @app.get("/alerts")
    def recent_alerts(
        request: Request,
        status: Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}")] = None,
        rule: str | None = None,
        feed: Annotated[str | None, Query(description="A feed's name, as declared")] = None,
        since: Annotated[
            datetime | None, Query(description="Created at or after (ISO 8601, with zone)")
        ] = None,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ALERT_ID, description="The next page: alerts listed after this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
        q: Annotated[str | None, Query(max_length=500, description="Words of the title or text")] = None,
    ) -> JSONResponse:
        """Alerts, newest first, in the shape of ``alerts list --json``; ``before`` = the last id
        of a page gives the next one."""
        problem = _unusable_query(request)
        if problem is not None:
            return JSONResponse({"error": problem}, status_code=400)
        if status is not None and status not in STATUSES:
            return JSONResponse({"error": f"status must be one of: {', '.join(STATUSES)}"}, status_code=400)
        if since is not None and since.tzinfo is None:
            return JSONResponse(
                {"error": "since needs a time zone, e.g. 2026-03-01T12:00:00Z"}, status_code=400
            )
        if since is not None and not _in_calendar(since):
            return JSONResponse({"error": "since is outside the calendar once in UTC"}, status_code=400)
        rule_id, feed_name, words = (text_param(v) if v else None for v in (rule, feed, q))

        def page(conn: Connection) -> list[Alert] | None:
            if before is not None and not list_alerts(conn, alert_id=before):
                return None
            return list_alerts(
                conn,
                status=status,
                rule_id=rule_id,
                feed=feed_name,
                since=since,
                before=before,
                limit=limit,
                text=words,
            )

        found = read(lambda conn: (page(conn),))  # a 1-tuple: read() answers None when the database is down
        if found is None:
            return JSONResponse({"error": "database unreachable"}, status_code=503)
        (alerts,) = found
        if alerts is None:
            return JSONResponse({"error": f"no alert {before}: before takes the id of a listed alert"}, 400)
        return JSONResponse([alert_json(a) for a in alerts])

    @app.get("/metrics")
    def metrics() -> Response:
        channels = read(lambda conn: channel_health(conn, now=clock()))
        if channels is not None:
            record_channel_gauges(channels)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
