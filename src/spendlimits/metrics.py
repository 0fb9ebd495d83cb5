"""Prometheus metrics of this process, and the calls that record them.

Everything here is measured per request or per SQL statement, never per resolved field: a hook on
every field would cost more than most requests (docs/design.md). Metric names are listed in
docs/operations.md.
"""

import re
import time
from typing import Any, Literal, Protocol, get_args

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from spendlimits import metrics_workers

CheckOutcome = Literal["allowed", "blocked", "failed_open", "failed_closed"]
RequestOutcome = Literal[
    "ok", "error", "unauthenticated", "too_large", "bad_request", "unavailable", "server_error", "aborted"
]

#: Distinct operation names labelled before new ones count as "other": clients choose the names,
#: and every label value is a time series Prometheus keeps.
MAX_OPERATION_LABELS = 200
_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_operation_labels: set[str] = set()

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SQL_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

REQUESTS = Counter(
    "spendlimits_graphql_requests",
    "Requests to /graphql by GraphQL operation name and outcome.",
    ["operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "spendlimits_graphql_request_duration_seconds",
    "Time to answer a request to /graphql, by GraphQL operation name.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
CHECKS = Counter(
    "spendlimits_check_outcomes",
    "Admission checks (chatUsageLimitCheck) by outcome: allowed, blocked, failed_open, failed_closed.",
    ["outcome"],
)
SQL_STATEMENTS = Counter("spendlimits_db_statements", "SQL statements completed.")
SQL_ERRORS = Counter("spendlimits_db_statement_errors", "SQL statements that raised an error.")
SQL_SECONDS = Histogram(
    "spendlimits_db_statement_duration_seconds", "Time of each completed SQL statement.", buckets=_SQL_BUCKETS
)
# With several workers (metrics_workers.py) the pool gauges are summed over the live workers.
POOL_CONNECTIONS = Gauge(
    "spendlimits_db_pool_connections",
    "Connections of the database pools: checked_out (in use) or idle.",
    ["state"],
    multiprocess_mode="livesum",
)
JOURNAL_FOLDED_ROWS = Counter(
    "spendlimits_spend_journal_folded_rows",
    "Messages and journal corrections moved into the folded rollup by this process's folder (docs/spend-journal.md).",
)
JOURNAL_FOLD_ERRORS = Counter(
    "spendlimits_spend_journal_fold_errors",
    "Folds of unfolded spend that failed (retried at the next interval).",
)
JOURNAL_FOLD_SECONDS = Histogram(
    "spendlimits_spend_journal_fold_duration_seconds",
    "Time of each fold that moved rows.",
    buckets=_SQL_BUCKETS,
)
POOL_LIMIT = Gauge(
    "spendlimits_db_pool_limit",
    "Most connections the pools may hold: pool size plus maximum overflow, times workers.",
    multiprocess_mode="livesum",
)

for _outcome in get_args(CheckOutcome):
    CHECKS.labels(_outcome)


class CheckDecision(Protocol):
    """What record_check_result reads of an admission check's result."""

    @property
    def allowed(self) -> bool: ...
    @property
    def failed_open(self) -> bool: ...
    @property
    def failed_closed(self) -> bool: ...


def check_outcome(result: CheckDecision) -> CheckOutcome:
    if result.failed_open:
        return "failed_open"
    if result.failed_closed:
        return "failed_closed"
    return "allowed" if result.allowed else "blocked"


def record_check(outcome: CheckOutcome) -> None:
    """Counts one admission check by its outcome."""
    CHECKS.labels(outcome).inc()


def record_check_result(result: CheckDecision) -> None:
    record_check(check_outcome(result))


def operation_name(name: str | None) -> str:
    """A client-chosen operation name made safe to print: the name, "anonymous" or "invalid"."""
    if name is None:
        return "anonymous"
    return name if _OPERATION_NAME.fullmatch(name) else "invalid"


def operation_label(name: str) -> str:
    """The metric label for a name from operation_name: itself, or "other" past the first few hundred."""
    if name in _operation_labels:
        return name
    if len(_operation_labels) >= MAX_OPERATION_LABELS:
        return "other"
    _operation_labels.add(name)
    return name


# labels() costs about as much as the update itself; the children are few (labels are bounded).
_request_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def record_request(operation: str, outcome: RequestOutcome, seconds: float) -> None:
    """Counts and times one request; operation comes from operation_name, or is "-" when none ran."""
    label = operation_label(operation)
    series = _request_series.get((label, outcome))
    if series is None:
        series = (REQUESTS.labels(label, outcome), REQUEST_SECONDS.labels(label))
        _request_series[(label, outcome)] = series
    count, duration = series
    count.inc()
    duration.observe(seconds)


# A Connection runs one statement at a time, so one slot per connection holds the start time.
_STARTED = "spendlimits.metrics.started"


def _before_statement(conn: Connection, *_: Any) -> None:
    conn.info[_STARTED] = time.perf_counter()


def record_statement(seconds: float | None) -> None:
    """Counts one completed SQL statement and, when known, its time."""
    SQL_STATEMENTS.inc()
    if seconds is not None:
        SQL_SECONDS.observe(seconds)


def _after_statement(conn: Connection, *_: Any) -> None:
    started = conn.info.pop(_STARTED, None)
    record_statement(None if started is None else time.perf_counter() - started)


def _statement_failed(context: ExceptionContext) -> None:
    SQL_ERRORS.inc()
    if context.connection is not None:
        context.connection.info.pop(_STARTED, None)


def instrument_engine(engine: AsyncEngine, pool_limit: int) -> None:
    """Counts and times every SQL statement the engine runs; pool_limit is size plus overflow."""
    POOL_LIMIT.set(pool_limit)
    target = engine.sync_engine
    if event.contains(target, "before_cursor_execute", _before_statement):
        return
    event.listen(target, "before_cursor_execute", _before_statement)
    event.listen(target, "after_cursor_execute", _after_statement)
    event.listen(target, "handle_error", _statement_failed)
    if metrics_workers.enabled():
        # Another worker answers the scrape, so each keeps its own pool gauges current.
        event.listen(target.pool, "checkout", lambda *_: _read_pool(target.pool))
        event.listen(target.pool, "checkin", lambda *_: _read_pool(target.pool))


def _read_pool(pool: object) -> None:
    if isinstance(pool, QueuePool):
        POOL_CONNECTIONS.labels("checked_out").set(pool.checkedout())
        POOL_CONNECTIONS.labels("idle").set(pool.checkedin())


def exposition(engine: AsyncEngine) -> bytes:
    """The text format Prometheus scrapes (every worker's), with this pool read as it is now."""
    _read_pool(engine.sync_engine.pool)
    return metrics_workers.latest()
