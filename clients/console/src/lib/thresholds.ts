// Warning levels: how close a user is to their limit, for the colour of a spend bar and the word
// beside it. The thresholds are shares of the limit in percent, ascending (the API's
// warningThresholdsPercent; [75, 90] until a server has them). The rule is the API's own: the
// highest threshold the spend has reached; spend at or above the limit is exceeded (equality blocks).

export const DEFAULT_THRESHOLDS_PERCENT: readonly number[] = [75, 90];

export type WarningLevel =
  | { kind: "unlimited" }
  | { kind: "ok"; sharePercent: number }
  | { kind: "warning"; thresholdPercent: number; sharePercent: number; severity: number }
  | { kind: "exceeded"; sharePercent: number };

/** spend * 100 >= threshold * limit, in integers (BigInt): no rounding near a threshold. */
function reached(spendMicros: number, limitMicros: number, percent: number): boolean {
  return BigInt(spendMicros) * 100n >= BigInt(percent) * BigInt(limitMicros);
}

/**
 * The level of spendMicros against limitMicros (null: unlimited). severity counts from 1 for the
 * first threshold up to thresholds.length for the highest, so colours can rise with it.
 */
export function warningLevel(
  spendMicros: number,
  limitMicros: number | null,
  thresholdsPercent: readonly number[] = DEFAULT_THRESHOLDS_PERCENT,
): WarningLevel {
  if (limitMicros === null) {
    return { kind: "unlimited" };
  }
  const sharePercent = limitMicros > 0 ? (spendMicros / limitMicros) * 100 : 100;
  if (spendMicros >= limitMicros) {
    return { kind: "exceeded", sharePercent };
  }
  const sorted = [...thresholdsPercent].sort((a, b) => a - b);
  let severity = 0;
  sorted.forEach((percent, index) => {
    if (reached(spendMicros, limitMicros, percent)) {
      severity = index + 1;
    }
  });
  const thresholdPercent = sorted[severity - 1];
  if (severity === 0 || thresholdPercent === undefined) {
    return { kind: "ok", sharePercent };
  }
  return { kind: "warning", thresholdPercent, sharePercent, severity };
}

/** The CSS class of a bar or badge: ok, warn-1.., critical for the highest threshold, exceeded. */
export function levelClass(level: WarningLevel, thresholdCount: number): string {
  switch (level.kind) {
    case "unlimited":
      return "level-unlimited";
    case "ok":
      return "level-ok";
    case "exceeded":
      return "level-exceeded";
    case "warning":
      return level.severity >= thresholdCount ? "level-critical" : "level-warn";
  }
}

/** Words for a level, for people and screen readers alike. */
export function levelLabel(level: WarningLevel): string {
  switch (level.kind) {
    case "unlimited":
      return "No limit";
    case "ok":
      return "Below warning";
    case "warning":
      return `At or above ${level.thresholdPercent}%`;
    case "exceeded":
      return "Limit reached";
  }
}

export type ParsedThresholds = { ok: true; percents: number[] } | { ok: false; error: string };

/** "75, 90" → [75, 90]; the API's rules: 1 to 99 each, at most 5, no duplicates. */
export function parseThresholds(text: string): ParsedThresholds {
  const parts = text
    .split(/[\s,]+/)
    .map((part) => part.replace(/%$/, ""))
    .filter((part) => part !== "");
  if (parts.length > 5) {
    return { ok: false, error: "At most 5 thresholds." };
  }
  const percents: number[] = [];
  for (const part of parts) {
    if (!/^\d+$/.test(part) || Number(part) < 1 || Number(part) > 99) {
      return { ok: false, error: `"${part}" is not a whole percent from 1 to 99.` };
    }
    if (percents.includes(Number(part))) {
      return { ok: false, error: `${part}% is listed twice.` };
    }
    percents.push(Number(part));
  }
  return { ok: true, percents: percents.sort((a, b) => a - b) };
}
