import { describe, expect, test } from "vitest";
import {
  MoneyParseError,
  dollarsToMicros,
  formatMicros,
  microsToDollars,
  parseDollars,
} from "./money";

describe("formatMicros", () => {
  test.each([
    [0, "$0.00"],
    [500, "$0.0005"],
    [1, "$0.000001"],
    [10_000, "$0.01"],
    [15_000, "$0.015"],
    [1_500_000, "$1.50"],
    [10_000_000, "$10.00"],
    [1_234_567_890, "$1,234.56789"],
    [-2_000_000, "-$2.00"],
    [Number.MAX_SAFE_INTEGER, "$9,007,199,254.740991"],
  ])("%d micros is %s", (micros, shown) => {
    expect(formatMicros(micros)).toBe(shown);
  });

  test("refuses what is not integer micros", () => {
    expect(() => formatMicros(0.5)).toThrow(RangeError);
    expect(() => formatMicros(Number.MAX_SAFE_INTEGER + 1)).toThrow(RangeError);
  });
});

describe("parseDollars", () => {
  test.each([
    ["10", 10_000_000],
    ["$12.50", 12_500_000],
    ["  $ 0.0005 ", 500],
    ["0.000001", 1],
    [".5", 500_000],
    ["3.", 3_000_000],
    ["1,250.5", 1_250_500_000],
    ["9007199254.740991", Number.MAX_SAFE_INTEGER],
  ])("%s is %d micros", (text, micros) => {
    expect(parseDollars(text)).toBe(micros);
  });

  test.each([
    ["", "Enter an amount"],
    ["$", "Enter an amount"],
    ["-1", "cannot be negative"],
    ["0.0000001", "6 decimal places"],
    ["ten", "is not an amount"],
    ["1.2.3", "is not an amount"],
    ["12,50", "is not an amount"],
    [".", "is not an amount"],
    ["1e3", "is not an amount"],
    ["9007199254.740992", "too large"],
  ])("%j is refused: %s", (text, reason) => {
    expect(() => parseDollars(text)).toThrow(MoneyParseError);
    expect(() => parseDollars(text)).toThrow(reason);
  });

  test("round-trips with formatMicros", () => {
    for (const micros of [0, 1, 500, 15_000, 1_500_000, 1_234_567_890]) {
      expect(parseDollars(formatMicros(micros))).toBe(micros);
    }
  });
});

describe("dollars as numbers", () => {
  test("convert both ways, rounding to the nearest micro", () => {
    expect(microsToDollars(1_500_000)).toBe(1.5);
    expect(dollarsToMicros(0.1 + 0.2)).toBe(300_000);
    expect(() => dollarsToMicros(Number.NaN)).toThrow(RangeError);
  });
});
