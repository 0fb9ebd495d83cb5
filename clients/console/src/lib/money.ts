// Money in the console. Formatting and parsing live in the TypeScript client's money module
// (clients/typescript/src/money.ts), the one home every frontend shares; this file adds only what
// the console's screens need on top: limits that may be absent, input-field text, and parse
// results a form can show without a try/catch.

import { formatMicros, MoneyParseError, parseDollars as parseDollarsOrThrow } from "../../../typescript/src/money";

export { formatMicros, MICROS_PER_DOLLAR } from "../../../typescript/src/money";

/** formatMicros for a value that may be absent: "unlimited" (or the given word) for null. */
export function formatLimit(micros: number | null | undefined, none = "unlimited"): string {
  return micros === null || micros === undefined ? none : formatMicros(micros);
}

/** Dollars for an input field: "12.5" for 12,500,000 micros, no sign, no grouping. */
export function microsToDollarInput(micros: number): string {
  return formatMicros(micros).replace(/[$,]/g, "").replace(/\.?0+$/, "").replace(/\.$/, "");
}

export type ParsedDollars = { ok: true; micros: number } | { ok: false; error: string };

/** The client's parseDollars, with its refusal as a sentence to show instead of an exception. */
export function parseDollars(text: string): ParsedDollars {
  try {
    return { ok: true, micros: parseDollarsOrThrow(text) };
  } catch (error) {
    if (error instanceof MoneyParseError) {
      return { ok: false, error: error.message };
    }
    throw error;
  }
}
