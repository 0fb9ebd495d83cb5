// Times are shown in UTC, as the API counts periods: "2026-12-31 00:00 UTC".

export function formatUtc(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The last `days` whole UTC days up to and including today: [from, to) as RFC 3339. */
export function lastDays(days: number, now: Date = new Date()): { from: string; to: string } {
  const tomorrow = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return {
    from: new Date(tomorrow - days * 86_400_000).toISOString(),
    to: new Date(tomorrow).toISOString(),
  };
}
