import { describe, expect, it } from "vitest";

import { NO_CAPABILITIES, capabilitiesFrom } from "./capabilities";

const fields = (...names: string[]) => ({ fields: names.map((name) => ({ name })) });

describe("capabilitiesFrom", () => {
  it("finds nothing optional on a server without the insight and live fields", () => {
    const core = {
      query: fields("viewer", "users", "chatUsageLimitConfig"),
      subscription: null,
      user: fields("id", "chatUsageLimitStatus"),
      config: fields("enabled", "spendLimitMicros"),
      status: fields("currentSpendMicros"),
    };
    expect(capabilitiesFrom(core)).toEqual(NO_CAPABILITIES);
  });

  it("turns on each screen whose field the server has", () => {
    const full = {
      query: fields("viewer", "chatSpendRanking", "chatUsageLimitChanges"),
      subscription: fields("myChatUsageLimitStatus"),
      user: fields("id", "chatSpendHistory"),
      config: fields("warningThresholdsPercent"),
      status: fields("warningThresholdPercent"),
    };
    expect(capabilitiesFrom(full)).toEqual({
      history: true,
      ranking: true,
      audit: true,
      thresholds: true,
      statusWarning: true,
      live: true,
    });
    expect(capabilitiesFrom({ ...full, query: fields("viewer", "chatSpendRanking") })).toMatchObject({ ranking: true, audit: false });
  });
});
