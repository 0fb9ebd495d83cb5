// A router just big enough for the console: paths under /console, pushed with the History API, so
// every screen has an address that survives a reload (the server answers index.html for them).
import { useEffect, useState } from "react";

export const BASE = "/console";

export type Route =
  | { screen: "home" }
  | { screen: "overview" }
  | { screen: "users" }
  | { screen: "user"; id: string }
  | { screen: "groups" }
  | { screen: "audit" }
  | { screen: "me" }
  | { screen: "missing"; path: string };

export function parseRoute(pathname: string): Route {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = path.split("/").filter((part) => part !== "");
  const [first, second] = parts;
  if (first === undefined) return { screen: "home" };
  if (parts.length === 1 && (first === "overview" || first === "users" || first === "groups" || first === "audit" || first === "me")) {
    return { screen: first };
  }
  if (first === "users" && second !== undefined && parts.length === 2) {
    return { screen: "user", id: decodeURIComponent(second) };
  }
  return { screen: "missing", path: pathname };
}

export function href(route: Route): string {
  switch (route.screen) {
    case "home":
      return `${BASE}/`;
    case "user":
      return `${BASE}/users/${encodeURIComponent(route.id)}`;
    case "missing":
      return route.path;
    default:
      return `${BASE}/${route.screen}`;
  }
}

const listeners = new Set<() => void>();

export function navigate(route: Route, replace = false): void {
  const target = href(route);
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  listeners.forEach((listener) => listener());
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
