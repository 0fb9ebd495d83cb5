// Money in the spendlimits API is integer micro-dollars (1 USD = 1,000,000 micros), exact up to
// 2^53 - 1. This module converts for people: formatting keeps sub-cent amounts visible ($0.0005,
// not $0.00) and parsing turns what a person types into integer micros, or says why it cannot.

export const MICROS_PER_DOLLAR = 1_000_000;
const DECIMALS = 6;

/** What a person typed is not an amount of dollars this API can hold. */
export class MoneyParseError extends Error {
  override name = "MoneyParseError";
}

function checkMicros(micros: number): void {
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`micros must be a whole number of at most 2^53 - 1, got ${micros}`);
  }
}

/** Micros as a number of dollars, for charts and arithmetic that may round (never for storage). */
export function microsToDollars(micros: number): number {
  checkMicros(micros);
  return micros / MICROS_PER_DOLLAR;
}

/** Whole dollars (or a fraction with at most 6 decimals) as micros; rounds to the nearest micro. */
export function dollarsToMicros(dollars: number): number {
  if (!Number.isFinite(dollars)) {
    throw new RangeError(`dollars must be a finite number, got ${dollars}`);
  }
  const micros = Math.round(dollars * MICROS_PER_DOLLAR);
  checkMicros(micros);
  return micros;
}

/**
 * "$1,234.50", "$0.0005", "-$2.00": exact, from integer arithmetic. At least two decimals, and as
 * many more (up to six) as the amount needs, so no spend is ever shown as $0.00 when it is not 0.
 */
export function formatMicros(micros: number): string {
  checkMicros(micros);
  const sign = micros < 0 ? "-" : "";
  const magnitude = Math.abs(micros);
  const whole = Math.floor(magnitude / MICROS_PER_DOLLAR);
  const fraction = String(magnitude % MICROS_PER_DOLLAR)
    .padStart(DECIMALS, "0")
    .replace(/0{1,4}$/, "")
    .padEnd(2, "0");
  return `${sign}$${whole.toLocaleString("en-US")}.${fraction}`;
}

const AMOUNT = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?$/;

/**
 * Parses what a person typed ("12", "$12.50", "1,250.5", "0.0005") into integer micros.
 * Throws MoneyParseError with a message fit to show next to the input field.
 */
export function parseDollars(text: string): number {
  const trimmed = text.trim().replace(/^\$/, "").trim();
  if (trimmed === "") {
    throw new MoneyParseError("Enter an amount in dollars, like 10 or 0.50.");
  }
  if (trimmed.startsWith("-")) {
    throw new MoneyParseError("The amount cannot be negative.");
  }
  const match = AMOUNT.exec(trimmed);
  if (match === null || (match[1] === undefined && !match[2])) {
    throw new MoneyParseError(`"${text.trim()}" is not an amount in dollars, like 10 or 0.50.`);
  }
  const wholeDigits = (match[1] ?? "0").replaceAll(",", "");
  const fractionDigits = match[2] ?? "";
  if (fractionDigits.length > DECIMALS) {
    throw new MoneyParseError("Amounts go down to a millionth of a dollar (6 decimal places) at most.");
  }
  const micros = BigInt(wholeDigits) * 1_000_000n + BigInt(fractionDigits.padEnd(DECIMALS, "0"));
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MoneyParseError("The amount is too large.");
  }
  return Number(micros);
}
