// One user's status in words: limit, spend, remaining, held, reset time and warning level.
import type { ChatSpendLimitSource, ChatUsageLimitPeriod } from "../gql/graphql";
import { formatLimit, formatMicros } from "../lib/money";
import { PERIOD_LABELS } from "../lib/labels";
import { levelClass, levelLabel, warningLevel } from "../lib/thresholds";
import { formatUtc } from "../lib/time";
import { SpendBar } from "./SpendBar";

export interface StatusShape {
  isLimited: boolean;
  limitSource: ChatSpendLimitSource;
  period: ChatUsageLimitPeriod | null;
  spendLimitMicros: number | null;
  currentSpendMicros: number;
  remainingMicros: number | null;
  heldMicros: number;
  exceeded: boolean;
  periodEnd: string | null;
}

export function StatusFacts(props: { status: StatusShape; thresholds: readonly number[] }) {
  const { status, thresholds } = props;
  const level = warningLevel(status.currentSpendMicros, status.spendLimitMicros, thresholds);
  return (
    <>
      <SpendBar spendMicros={status.currentSpendMicros} limitMicros={status.spendLimitMicros} thresholds={thresholds} />
      <dl className="facts">
        <dt>Limit</dt>
        <dd data-testid="status-limit">
          {formatLimit(status.spendLimitMicros)}
          {status.period ? ` a ${PERIOD_LABELS[status.period].toLowerCase()}` : ""}
        </dd>
        <dt>Spent this period</dt>
        <dd data-testid="status-spend">{formatMicros(status.currentSpendMicros)}</dd>
        <dt>Remaining</dt>
        <dd data-testid="status-remaining">{formatLimit(status.remainingMicros)}</dd>
        <dt>Held by running work</dt>
        <dd>{formatMicros(status.heldMicros)}</dd>
        <dt>Resets</dt>
        <dd>{status.periodEnd ? formatUtc(status.periodEnd) : "never (no limit)"}</dd>
        <dt>Warning level</dt>
        <dd>
          <span className={`badge ${levelClass(level, thresholds.length)}`} data-testid="status-level">
            {levelLabel(level)}
          </span>
        </dd>
      </dl>
    </>
  );
}
