"""An alert's status follows the messages that carry it.

``sent`` once every immediate message naming it was sent; ``failed`` when one of them failed
for good (expired included); an alert carried by no immediate message (routed to the digest
only) is ``sent`` with the digest. Until then it stays ``pending``. Only ``pending`` alerts
change: a suppressed alert never does. Callers settle in the transaction that records the
messages, so no crash between the two can leave an alert ``pending`` after its message went.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from service.store import alerts as alert_store
from service.store import outbox

SENT, FAILED = outbox.SENT, outbox.FAILED


def settled_status(messages: Sequence[tuple[str, str]], *, immediate: Callable[[str], bool]) -> str | None:
    """The status for an alert carried by ``messages`` ((kind, state) each); None: not yet."""
    now = {state for kind, state in messages if immediate(kind)}
    later = {state for kind, state in messages if not immediate(kind)}
    if FAILED in now:
        return FAILED
    if now:
        return SENT if now == {SENT} else None
    return SENT if SENT in later else None


def settle_alert_statuses(
    conn: Connection, alert_ids: Iterable[int], *, immediate: Callable[[str], bool]
) -> None:
    """Settle these alerts from their messages' states (see the module rules)."""
    settled: dict[str, list[int]] = defaultdict(list)
    for alert_id, messages in outbox.delivery_states(conn, alert_ids).items():
        status = settled_status(messages, immediate=immediate)
        if status is not None:
            settled[status].append(alert_id)
    alert_store.settle_pending_alerts(conn, settled)
