import { describe, expect, it } from "vitest";

import { formatLimit, formatMicros, microsToDollarInput, parseDollars } from "./money";

describe("formatMicros", () => {
  it("shows whole dollars with cents", () => {
    expect(formatMicros(5_000_000)).toBe("$5.00");
    expect(formatMicros(0)).toBe("$0.00");
  });

  it("keeps sub-cent amounts visible", () => {
    expect(formatMicros(500)).toBe("$0.0005");
    expect(formatMicros(1)).toBe("$0.000001");
    expect(formatMicros(1_234_567)).toBe("$1.234567");
    expect(formatMicros(10_500)).toBe("$0.0105");
  });

  it("groups thousands and signs negative amounts", () => {
    expect(formatMicros(1_234_500_000)).toBe("$1,234.50");
    expect(formatMicros(-3_000_000)).toBe("-$3.00");
    expect(formatMicros(Number.MAX_SAFE_INTEGER)).toBe("$9,007,199,254.740991");
  });

  it("refuses what is not an integer amount of micros", () => {
    expect(() => formatMicros(1.5)).toThrow(RangeError);
    expect(() => formatMicros(Number.NaN)).toThrow(RangeError);
  });

  it("calls a missing limit unlimited", () => {
    expect(formatLimit(null)).toBe("unlimited");
    expect(formatLimit(undefined, "none")).toBe("none");
    expect(formatLimit(75_000_000)).toBe("$75.00");
  });
});

describe("parseDollars", () => {
  it.each([
    ["12", 12_000_000],
    ["12.5", 12_500_000],
    ["$1,234.50", 1_234_500_000],
    ["0.0005", 500],
    [".5", 500_000],
    [" 0.1 ", 100_000],
    ["0.000001", 1],
    ["0", 0],
    ["7.", 7_000_000],
  ])("reads %j as %i micros, exactly", (text, micros) => {
    expect(parseDollars(text)).toEqual({ ok: true, micros });
  });

  it.each([
    ["", "Enter an amount"],
    ["   ", "Enter an amount"],
    ["-5", "cannot be negative"],
    ["$-5", "cannot be negative"],
    ["abc", "is not an amount"],
    ["1e3", "is not an amount"],
    ["1.2.3", "is not an amount"],
    ["1,23", "is not an amount"],
    ["0.0000001", "6 decimal places"],
    ["9007199255", "too large"],
  ])("refuses %j with a sentence saying why", (text, reason) => {
    const parsed = parseDollars(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toContain(reason);
  });

  it("round-trips through the input format", () => {
    for (const micros of [1, 500, 100_000, 12_500_000, 75_000_000, 1_234_567_891]) {
      expect(parseDollars(microsToDollarInput(micros))).toEqual({ ok: true, micros });
    }
    expect(microsToDollarInput(12_500_000)).toBe("12.5");
    expect(microsToDollarInput(40_000_000)).toBe("40");
  });
});
