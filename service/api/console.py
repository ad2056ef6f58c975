"""The analyst's console, rendered on the server (Jinja2, no JavaScript build).

Pages: ``/`` the alerts, one row per story with every rule that fired on it, filtered by rule,
status, feed and time; ``/alert/{id}`` one alert in full (what ``alerts show`` prints) with the
team's feedback on its item; ``/sources`` the feeds and channels; ``/rules`` the rules in
force with their matches, alerts and precision from feedback; ``/baselines``. Feedback is a
form post to ``/alert/{id}/feedback`` (who may: ``api.writes``). Times are shown in
``RIVALWATCH_TIMEZONE``. Feed text is escaped everywhere (autoescaping), and a link is a link
only when it is http(s).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Connection

from service.alerts.model import FIRED_STATUSES, Alert
from service.api.writes import CSRF_COOKIE, CSRF_FIELD, TOKEN_COOKIE, WritePolicy, csrf_ok, same_secret
from service.moments import in_zone
from service.rulebook import RulesState
from service.store.alerts import activity_by_rule, list_alerts
from service.store.baselines import latest
from service.store.channel_state import channel_health
from service.store.feedback import (
    VERDICTS,
    Feedback,
    feedback_on,
    parse_verdict,
    precision_by_theme,
    record_feedback,
)
from service.store.feeds import feed_names, list_health
from service.store.outbox import list_deliveries
from service.views import health_report

T = TypeVar("T")
MAX_ROWS = 300
"""Alerts read for one page of the alerts list (grouped into fewer story rows)."""
SINCE = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}
STATUS_FILTERS: dict[str, frozenset[str] | None] = {
    "": None,
    "live": FIRED_STATUSES,
    "suppressed": frozenset({"suppressed"}),
    "failed": frozenset({"failed"}),
    "held": frozenset({"stale", "muted", "cooldown"}),
}
PAGES = Environment(
    loader=PackageLoader("service.api", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One story of the alerts list: every rule that fired on it, newest alert first."""

    alerts: tuple[Alert, ...]

    @property
    def first(self) -> Alert:
        return self.alerts[-1]

    @property
    def changes(self) -> list[str]:
        return list(dict.fromkeys(c.display for a in self.alerts for c in a.fact_changes))


def stories_of(alerts: Sequence[Alert]) -> list[StoryRow]:
    """Alerts (newest first) grouped by story, in the order of each story's newest alert."""
    grouped: dict[str, list[Alert]] = {}
    for alert in alerts:
        grouped.setdefault(alert.story_key, []).append(alert)
    return [StoryRow(tuple(group)) for group in grouped.values()]


AlertId = Annotated[int, FastApiPath(ge=1, le=2**63 - 1)]
"""An alert's id as a path parameter: beyond 64 bits no database could hold it."""


def text_param(value: str, limit: int = 500) -> str:
    """A query or form value as the database may take it: no NUL (PostgreSQL refuses it), capped."""
    return value.replace("\x00", "")[:limit].strip()


def human_time(moment: datetime | None, *, now: datetime, tz: ZoneInfo) -> str:
    """``6 Dec 17:05`` in the team's time zone, with the year when it is not this year's."""
    if moment is None:
        return "-"
    local = in_zone(moment, tz)
    year = "" if local.year == in_zone(now, tz).year else f" {local.year}"
    return f"{local.day} {local:%b}{year} {local:%H:%M}"


def ago(moment: datetime | None, *, now: datetime) -> str:
    """``3 min ago``, ``5 h ago``, ``2 d ago``; ``in 4 min`` for a moment to come."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if abs(seconds) >= size:
            amount = f"{int(abs(seconds) // size)} {name}"
            return f"{amount} ago" if seconds >= 0 else f"in {amount}"
    return "just now"


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (a feed's ``javascript:`` never becomes a link)."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def console_router(
    *,
    read: Callable[[Callable[[Connection], Any]], Any],
    write: Callable[[Callable[[Connection], None]], bool],
    clock: Callable[[], datetime],
    rules: Callable[[], RulesState] | None,
    tz: ZoneInfo,
    policy: WritePolicy,
) -> APIRouter:
    router = APIRouter()

    def render(request: Request, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        now = clock()
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        values.setdefault("state", state())
        page = PAGES.get_template(template).render(
            page=template.removesuffix(".html"),
            when=lambda m: human_time(m, now=now, tz=tz),
            ago=lambda m: ago(m, now=now),
            link=safe_link,
            csrf=csrf,
            csrf_field=CSRF_FIELD,
            timezone=str(tz),
            **values,
        )
        response = HTMLResponse(page, status_code=status_code)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax")
        return response

    def writer(request: Request) -> str | None:
        client = request.client.host if request.client else None
        return policy.writer(headers=request.headers, cookies=request.cookies, client=client)

    def stale_form(request: Request) -> HTMLResponse:
        return render(
            request, "refused.html", status_code=403, why="the form is stale: reload the page and try again"
        )

    def unavailable(request: Request) -> HTMLResponse:
        return render(request, "unavailable.html", status_code=503)

    def state() -> RulesState | None:
        return rules() if rules else None

    def rule_ids() -> list[str] | None:
        """The ids of the rules in use, sorted; None while the console knows of no rules."""
        book = (s := state()) and s.book
        return sorted(book.rules) if book else None

    @router.get("/", response_class=HTMLResponse)
    def alerts_page(
        request: Request, rule: str = "", status: str = "", feed: str = "", since: str = "7d", q: str = ""
    ) -> HTMLResponse:
        now = clock()
        rule, feed, q = (text_param(value) for value in (rule, feed, q))
        since = since if since in SINCE else "7d"
        status = status if status in STATUS_FILTERS else ""
        window = SINCE[since]
        statuses = STATUS_FILTERS[status]

        def work(conn: Connection) -> tuple[list[Alert], dict[int, list[Feedback]], list[str]]:
            found = list_alerts(
                conn,
                rule_id=rule or None,
                statuses=statuses,
                feed=feed or None,
                since=now - window if window else None,
                limit=MAX_ROWS,
                text=q or None,
            )
            said = feedback_on(conn, [a.item_id for a in found if a.item_id is not None])
            return found, said, feed_names(conn)

        found = read(work)
        if found is None:
            return unavailable(request)
        alerts, said, names = found
        known = rule_ids()
        return render(
            request,
            "alerts.html",
            stories=stories_of(alerts),
            feedback=said,
            read_all=len(alerts) == MAX_ROWS,
            filters={"rule": rule, "status": status, "feed": feed, "since": since, "q": q},
            query=urlencode({"rule": rule, "status": status, "feed": feed, "since": since, "q": q}),
            rule_ids=known if known is not None else sorted({a.rule_id for a in alerts}),
            feed_names=names,
            status_names=[name for name in STATUS_FILTERS if name],
            since_names=list(SINCE),
            can_write=writer(request) is not None,
        )

    @router.get("/alert/{alert_id}", response_class=HTMLResponse)
    def alert_page(request: Request, alert_id: AlertId) -> HTMLResponse:
        def work(conn: Connection) -> list[tuple[Alert, list[dict[str, Any]], list[Feedback]]]:
            """The alert with its deliveries and feedback; empty when there is no such alert."""
            found = []
            for alert in list_alerts(conn, alert_id=alert_id):
                sent = list(list_deliveries(conn, alert_id=alert_id))
                said = feedback_on(conn, [alert.item_id] if alert.item_id is not None else [])
                found.append((alert, sent, said.get(alert.item_id or -1, [])))
            return found

        found = read(work)
        if found is None:
            return unavailable(request)
        if not found:
            return render(request, "missing.html", status_code=404, what=f"alert {alert_id}")
        alert, sent, said = found[0]
        known = rule_ids()
        themes = known if known is not None else [alert.rule_id]
        return render(
            request,
            "alert.html",
            alert=alert,
            deliveries=sent,
            feedback=said,
            themes=themes,
            verdicts=VERDICTS,
            can_write=writer(request) is not None,
            writes_refused=policy.refusal(),
        )

    @router.post("/alert/{alert_id}/feedback")
    def give_feedback(
        request: Request,
        alert_id: AlertId,
        verdict: str = Form(...),
        theme: str = Form(""),
        back: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        if not csrf_ok(
            request.cookies.get(CSRF_COOKIE), csrf, fetched_from=request.headers.get("sec-fetch-site")
        ):
            return stale_form(request)
        who = writer(request)
        if who is None:
            return render(request, "refused.html", status_code=403, why=policy.refusal())
        said = parse_verdict(verdict)
        if said is None:
            return render(request, "refused.html", status_code=400, why=f"unknown verdict {verdict[:40]!r}")
        found = read(lambda conn: list_alerts(conn, alert_id=alert_id))
        if found is None:
            return unavailable(request)
        if not found:
            return render(request, "missing.html", status_code=404, what=f"alert {alert_id}")
        alert = found[0]
        if alert.item_id is None:
            return render(request, "refused.html", status_code=400, why="this alert is about no item")
        judged = alert.rule_id
        if said == "missed":
            themes = set(rule_ids() or ())
            judged = text_param(theme)
            if judged not in themes - {alert.rule_id}:
                why = f"{judged[:40]!r} is not another rule's theme: the alert's own rule fired"
                return render(request, "refused.html", status_code=400, why=why)
        now = clock()
        item_id = alert.item_id

        def store(conn: Connection) -> None:
            record_feedback(
                conn, item_id=item_id, theme=judged[:100], verdict=said, alert_id=alert_id, who=who, now=now
            )

        if not write(store):
            return unavailable(request)
        target = back if back.startswith("/") and not back.startswith("//") else f"/alert/{alert_id}"
        return RedirectResponse(target, status_code=303)

    @router.get("/sources", response_class=HTMLResponse)
    def sources_page(request: Request) -> HTMLResponse:
        now = clock()
        found = read(lambda conn: (list_health(conn), channel_health(conn, now=now)))
        if found is None:
            return unavailable(request)
        feeds, channels = found
        return render(
            request,
            "sources.html",
            health=health_report(feeds, channels, now=now, rules=state()),
            feeds=feeds,
            channels=channels,
        )

    @router.get("/rules", response_class=HTMLResponse)
    def rules_page(request: Request) -> HTMLResponse:
        now = clock()
        found = read(
            lambda conn: (
                activity_by_rule(conn, since=now - timedelta(days=7)),
                precision_by_theme(conn),
            )
        )
        if found is None:
            return unavailable(request)
        activity, precision = found
        return render(request, "rules.html", activity=activity, precision=precision)

    @router.get("/baselines", response_class=HTMLResponse)
    def baselines_page(request: Request) -> HTMLResponse:
        found = read(latest)  # versions count from 1: the newest one's number is how many there are
        if found is None:
            return unavailable(request)
        return render(request, "baselines.html", baselines=found)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", needs_token=policy.token is not None, failed=False)

    @router.post("/login")
    def login(request: Request, token: str = Form(""), csrf: str = Form("")) -> Response:
        if not csrf_ok(
            request.cookies.get(CSRF_COOKIE), csrf, fetched_from=request.headers.get("sec-fetch-site")
        ):
            return stale_form(request)
        if policy.token is None or not same_secret(token, policy.token):
            return render(
                request, "login.html", status_code=403, needs_token=policy.token is not None, failed=True
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax")
        return response

    return router
