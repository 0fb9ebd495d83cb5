"""The admission check the chat daemon runs before LLM work (spec section 5).

``spend >= limit`` blocks: the admission rule is the SQL function ``spendlimits_admits`` (migration
000003), its one home, which every reserve applies too (with its estimate and the live holds). When the decision cannot be evaluated (a database error, or no answer
within the check timeout) the configured enforcement mode decides: FAIL_OPEN (the default) allows
the work, FAIL_CLOSED refuses it; the answer says which, and a warning names the cause. Coder
chose fail-open because a limits outage must not stop every chat; the price is that spend during
an outage goes unchecked, which a strict deployment refuses to pay (docs/design.md).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.db.deadline import CannotEvaluate, within_deadline
from spendlimits.errors import NotFound
from spendlimits.limits.enforcement import EnforcementMode, last_known_mode
from spendlimits.limits.status import Status, statuses

log = logging.getLogger(__name__)

EXCEEDED_MESSAGE = "Chat usage limit exceeded."


@dataclass(frozen=True, slots=True)
class Exceeded:
    """What a blocked user is shown."""

    message: str
    spent_micros: int
    limit_micros: int
    #: Live holds in the scope when refused: a reserve refused for holds says how much is held.
    held_micros: int
    #: The end of the period: spend starts again from zero then.
    resets_at: datetime


@dataclass(frozen=True, slots=True)
class CheckResult:
    allowed: bool
    #: True when the check could not be evaluated and the work was allowed anyway.
    failed_open: bool
    #: What the decision was made on; None when it could not be evaluated.
    status: Status | None
    #: Set exactly when the work is refused for the limit (so not when failed closed).
    exceeded: Exceeded | None
    #: True when the check could not be evaluated and the work was refused (FAIL_CLOSED).
    failed_closed: bool = False


FAILED_OPEN = CheckResult(allowed=True, failed_open=True, status=None, exceeded=None)
FAILED_CLOSED = CheckResult(allowed=False, failed_open=False, status=None, exceeded=None, failed_closed=True)


def cannot_evaluate(engine: AsyncEngine, what: str, cause: str) -> CheckResult:
    """The answer when a decision about ``what`` cannot be evaluated: the enforcement mode's."""
    if last_known_mode(engine) is EnforcementMode.FAIL_CLOSED:
        log.warning("%s failed closed: %s", what, cause)
        return FAILED_CLOSED
    log.warning("%s failed open: %s", what, cause)
    return FAILED_OPEN


def decide(found: Status, allowed: bool) -> CheckResult:
    """The answer for a decision the database made (``allowed``) on ``found``."""
    limit, resets_at = found.limit.limit_micros, found.period_end
    if allowed or limit is None or resets_at is None:
        return CheckResult(allowed=True, failed_open=False, status=found, exceeded=None)
    return CheckResult(
        allowed=False,
        failed_open=False,
        status=found,
        exceeded=Exceeded(
            message=EXCEEDED_MESSAGE,
            spent_micros=found.spend_micros,
            limit_micros=limit,
            resets_at=resets_at,
            held_micros=found.held_micros,
        ),
    )


async def _evaluate(
    engine: AsyncEngine, user_id: uuid.UUID, organization_id: uuid.UUID | None, now: datetime | None
) -> Status | None:
    async with engine.connect() as conn:
        # One read statement needs no transaction: autocommit saves the BEGIN and ROLLBACK round trips.
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        found = await statuses(conn, [(user_id, organization_id, None)], now=now)
        return found.get((user_id, organization_id, None))


async def check(
    engine: AsyncEngine,
    user_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,
    *,
    timeout_seconds: float,
    now: datetime | None = None,
) -> CheckResult:
    """May ``user_id`` start more LLM work now? Raises NotFound for an unknown user.

    Takes the engine rather than a connection because getting a connection is part of what must
    fit in ``timeout_seconds``. ``now`` (default: the clock) picks the period, so a test can pin it
    and not fail when run across midnight UTC.
    """
    try:
        found = await within_deadline(_evaluate(engine, user_id, organization_id, now), timeout_seconds)
    except CannotEvaluate as exc:
        return cannot_evaluate(engine, f"chat usage limit check for user {user_id}", exc.cause)
    if found is None:
        raise NotFound("User not found.")
    return decide(found, found.allowed)
