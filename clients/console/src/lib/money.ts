// Money in the console: the API counts integer micro-dollars (1 USD = 1,000,000 micros); people read
// and type dollars. Formatting never rounds a sub-cent amount away ($0.0005 stays $0.0005), and
// parsing works on the text's digits, never through floating point, so "0.1" is exactly 100000.

export const MICROS_PER_DOLLAR = 1_000_000;
const FRACTION_DIGITS = 6;

/** "$1,234.50", "$0.0005", "-$3.00": at least cents, more digits only when they are not zero. */
export function formatMicros(micros: number): string {
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`not an integer amount of micros: ${micros}`);
  }
  const sign = micros < 0 ? "-" : "";
  const digits = Math.abs(micros).toString().padStart(FRACTION_DIGITS + 1, "0");
  const whole = digits.slice(0, -FRACTION_DIGITS);
  const fraction = digits.slice(-FRACTION_DIGITS).replace(/0+$/, "").padEnd(2, "0");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${grouped}.${fraction}`;
}

/** formatMicros for a value that may be absent: "unlimited" (or the given word) for null. */
export function formatLimit(micros: number | null | undefined, none = "unlimited"): string {
  return micros === null || micros === undefined ? none : formatMicros(micros);
}

/** Dollars for an input field: "12.5" for 12,500,000 micros, no sign, no grouping. */
export function microsToDollarInput(micros: number): string {
  return formatMicros(micros).replace(/[$,]/g, "").replace(/\.?0+$/, "").replace(/\.$/, "");
}

export type ParsedDollars = { ok: true; micros: number } | { ok: false; error: string };

const DOLLARS = /^\$?(\d+)(?:\.(\d*))?$/;

/**
 * Parses what a person typed as dollars ("12", "$1,234.50", "0.0005", ".5") into integer micros.
 * Refuses, with a sentence to show: blank text, signs, letters, more than six decimal places (a
 * micro-dollar is the smallest amount), and amounts too large to be held exactly.
 */
export function parseDollars(text: string): ParsedDollars {
  const cleaned = text.trim().replace(/,(?=\d{3}(\D|$))/g, "");
  if (cleaned === "") {
    return { ok: false, error: "Enter an amount in dollars, e.g. 25 or 0.50." };
  }
  if (/^-/.test(cleaned) || /^\$-/.test(cleaned)) {
    return { ok: false, error: "The amount cannot be negative." };
  }
  const normalized = cleaned.startsWith(".") || cleaned.startsWith("$.") ? cleaned.replace(".", "0.") : cleaned;
  const match = DOLLARS.exec(normalized);
  if (match === null) {
    return { ok: false, error: `"${text.trim()}" is not an amount in dollars, e.g. 25 or 0.50.` };
  }
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > FRACTION_DIGITS) {
    return { ok: false, error: "Use at most six decimal places: $0.000001 is the smallest amount." };
  }
  const micros = BigInt(whole) * BigInt(MICROS_PER_DOLLAR) + BigInt(fraction.padEnd(FRACTION_DIGITS, "0"));
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, error: `The amount is too large: at most ${formatMicros(Number.MAX_SAFE_INTEGER)}.` };
  }
  return { ok: true, micros: Number(micros) };
}
