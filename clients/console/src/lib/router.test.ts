import { describe, expect, it } from "vitest";

import { href, parseRoute } from "./router";

describe("parseRoute", () => {
  it("reads every screen's address", () => {
    expect(parseRoute("/console")).toEqual({ screen: "home" });
    expect(parseRoute("/console/")).toEqual({ screen: "home" });
    expect(parseRoute("/console/users")).toEqual({ screen: "users" });
    expect(parseRoute("/console/users/")).toEqual({ screen: "users" });
    expect(parseRoute("/console/users/abc%2Fdef")).toEqual({ screen: "user", id: "abc/def" });
    expect(parseRoute("/console/me")).toEqual({ screen: "me" });
  });

  it("calls anything else missing", () => {
    expect(parseRoute("/console/nope")).toEqual({ screen: "missing", path: "/console/nope" });
    expect(parseRoute("/console/users/a/b")).toMatchObject({ screen: "missing" });
  });

  it("builds addresses that parse back", () => {
    for (const route of [{ screen: "overview" as const }, { screen: "user" as const, id: "a b/c" }, { screen: "home" as const }]) {
      expect(parseRoute(href(route))).toEqual(route);
    }
  });
});
