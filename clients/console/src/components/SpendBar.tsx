// Spend against a limit as a bar coloured by warning level, with the same facts in words.
import { formatLimit, formatMicros } from "../lib/money";
import { levelClass, levelLabel, warningLevel } from "../lib/thresholds";

export function SpendBar(props: { spendMicros: number; limitMicros: number | null; thresholds: readonly number[] }) {
  const level = warningLevel(props.spendMicros, props.limitMicros, props.thresholds);
  const share = level.kind === "unlimited" ? 0 : Math.min(level.sharePercent, 100);
  const words =
    level.kind === "unlimited"
      ? `${formatMicros(props.spendMicros)}, no limit`
      : `${formatMicros(props.spendMicros)} of ${formatLimit(props.limitMicros)} (${Math.floor(level.sharePercent)}%)`;
  return (
    <div className={`spend ${levelClass(level, props.thresholds.length)}`} data-level={level.kind}>
      <div className="bar" role="img" aria-label={`${words}: ${levelLabel(level)}`}>
        <div className="fill" style={{ width: `${share}%` }} />
      </div>
      <span className="spend-text">
        {words} <span className="level-word">{levelLabel(level)}</span>
      </span>
    </div>
  );
}
