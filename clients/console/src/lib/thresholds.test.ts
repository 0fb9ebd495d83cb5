import { describe, expect, it } from "vitest";

import { levelClass, levelLabel, parseThresholds, warningLevel } from "./thresholds";

describe("warningLevel", () => {
  it("is unlimited without a limit", () => {
    expect(warningLevel(5_000_000, null)).toEqual({ kind: "unlimited" });
  });

  it("is ok below the first threshold", () => {
    const level = warningLevel(74_999_999, 100_000_000, [75, 90]);
    expect(level.kind).toBe("ok");
    expect(levelLabel(level)).toBe("Below warning");
  });

  it("reaches a threshold exactly at its share, with no float rounding", () => {
    expect(warningLevel(75, 100, [75, 90])).toMatchObject({ kind: "warning", thresholdPercent: 75, severity: 1 });
    // 0.29 * 100 is 28.999999999999996 in floating point; in integers 29% of 100 is reached.
    expect(warningLevel(29, 100, [29])).toMatchObject({ kind: "warning", thresholdPercent: 29 });
    expect(warningLevel(28, 100, [29]).kind).toBe("ok");
  });

  it("reports the highest threshold reached", () => {
    const level = warningLevel(95, 100, [90, 75]);
    expect(level).toMatchObject({ kind: "warning", thresholdPercent: 90, severity: 2 });
    expect(levelLabel(level)).toBe("At or above 90%");
    expect(levelClass(level, 2)).toBe("level-critical");
    expect(levelClass(warningLevel(80, 100, [75, 90]), 2)).toBe("level-warn");
  });

  it("is exceeded at the limit, since equality blocks", () => {
    expect(warningLevel(100, 100).kind).toBe("exceeded");
    expect(warningLevel(150, 100)).toMatchObject({ kind: "exceeded", sharePercent: 150 });
    expect(warningLevel(99, 100).kind).toBe("warning");
  });

  it("handles amounts too large for float products", () => {
    const limit = 9_000_000_000_000_000;
    expect(warningLevel(limit - 1, limit, [99]).kind).toBe("warning");
    expect(warningLevel(Math.floor(limit * 0.5), limit, [75]).kind).toBe("ok");
  });
});

describe("parseThresholds", () => {
  it("reads a list in any order", () => {
    expect(parseThresholds("90, 75%")).toEqual({ ok: true, percents: [75, 90] });
    expect(parseThresholds("")).toEqual({ ok: true, percents: [] });
  });

  it.each([
    ["0", "1 to 99"],
    ["100", "1 to 99"],
    ["7.5", "1 to 99"],
    ["50, 50", "twice"],
    ["1 2 3 4 5 6", "At most 5"],
  ])("refuses %j", (text, reason) => {
    const parsed = parseThresholds(text);
    expect(parsed.ok ? "" : parsed.error).toContain(reason);
  });
});
