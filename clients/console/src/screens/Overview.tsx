// Overview: limits on or off, the default limit and period, the enforcement mode, the warning
// thresholds (when the server has them) and the unpriced-model warning; OWNERs edit, AUDITORs read.
import { useState } from "react";
import { useMutation, useQuery } from "urql";

import { QueryState } from "../components/QueryState";
import type { ChatUsageLimitPeriod, EnforcementMode, UpdateChatUsageLimitConfigInput } from "../gql/graphql";
import {
  ConsoleConfigDocument,
  ConsoleThresholdsDocument,
  ConsoleUpdateConfigDocument,
  ConsoleUpdateThresholdsDocument,
} from "../gql/graphql";
import { formatLimit, microsToDollarInput, parseDollars } from "../lib/money";
import { PERIOD_LABELS } from "../lib/labels";
import { useSession } from "../lib/session-context";
import { parseThresholds } from "../lib/thresholds";
import { formatUtc } from "../lib/time";

type FieldErrors = Partial<Record<"spendLimitMicros" | "period" | "enforcementMode" | "form", string>>;

export function Overview() {
  const { readOnly, capabilities } = useSession();
  const [result] = useQuery({ query: ConsoleConfigDocument });
  const config = result.data?.chatUsageLimitConfig;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {readOnly && <p className="notice">Read-only: auditors see the configuration but cannot change it.</p>}
      <QueryState fetching={result.fetching} error={result.error} hasData={config !== undefined}>
        {() =>
          config && (
            <>
              {config.unpricedModelCount > 0 && (
                <p className="warning" role="note">
                  {config.unpricedModelCount === 1 ? "1 enabled model has" : `${config.unpricedModelCount} enabled models have`} no
                  price: usage of {config.unpricedModelCount === 1 ? "it" : "them"} is not counted against any limit.
                </p>
              )}
              <dl className="facts">
                <dt>Limits</dt>
                <dd>{config.enabled ? "On" : "Off"}</dd>
                <dt>Default limit</dt>
                <dd data-testid="default-limit">{formatLimit(config.spendLimitMicros, "none (limits off)")}</dd>
                <dt>Period</dt>
                <dd>{PERIOD_LABELS[config.period]}</dd>
                <dt>When a check cannot be evaluated</dt>
                <dd>{config.enforcementMode === "FAIL_OPEN" ? "Allow (fail open)" : "Refuse (fail closed)"}</dd>
                <dt>Reservations expire after</dt>
                <dd>{config.reservationTtlSeconds} s</dd>
                <dt>Last changed</dt>
                <dd>{formatUtc(config.updatedAt)}</dd>
              </dl>
              <ConfigForm config={config} readOnly={readOnly} />
              {capabilities.thresholds && <ThresholdsForm readOnly={readOnly} />}
            </>
          )
        }
      </QueryState>
    </section>
  );
}

function ConfigForm(props: {
  config: { enabled: boolean; spendLimitMicros: number | null; period: ChatUsageLimitPeriod; enforcementMode: EnforcementMode };
  readOnly: boolean;
}) {
  const { config, readOnly } = props;
  const [enabled, setEnabled] = useState(config.enabled);
  const [limit, setLimit] = useState(config.spendLimitMicros === null ? "" : microsToDollarInput(config.spendLimitMicros));
  const [period, setPeriod] = useState<ChatUsageLimitPeriod>(config.period);
  const [mode, setMode] = useState<EnforcementMode>(config.enforcementMode);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const [state, update] = useMutation(ConsoleUpdateConfigDocument);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setSaved(false);
    const input: UpdateChatUsageLimitConfigInput = { enforcementMode: mode, period };
    if (enabled) {
      const parsed = parseDollars(limit);
      if (!parsed.ok) {
        setErrors({ spendLimitMicros: parsed.error });
        return;
      }
      input.spendLimitMicros = parsed.micros;
    } else {
      input.spendLimitMicros = null;
    }
    const result = await update({ input });
    if (result.error) {
      setErrors({ form: result.error.graphQLErrors[0]?.message ?? result.error.message });
      return;
    }
    const found: FieldErrors = {};
    for (const error of result.data?.updateChatUsageLimitConfig.errors ?? []) {
      const field = error.field?.[error.field.length - 1];
      const key = field === "spendLimitMicros" || field === "period" || field === "enforcementMode" ? field : "form";
      found[key] = found[key] ? `${found[key]} ${error.message}` : error.message;
    }
    setErrors(found);
    setSaved(Object.keys(found).length === 0);
  }

  return (
    <form className="stack config-form" onSubmit={submit} aria-labelledby="config-form-title" noValidate>
      <h2 id="config-form-title">Change the configuration</h2>
      <div className="check">
        <input id="enabled" type="checkbox" checked={enabled} disabled={readOnly} onChange={(event) => setEnabled(event.target.checked)} />
        <label htmlFor="enabled">Limits on</label>
      </div>
      <label htmlFor="default-limit-input">Default limit per user and period, in dollars</label>
      <input
        id="default-limit-input"
        inputMode="decimal"
        value={limit}
        disabled={readOnly || !enabled}
        aria-invalid={errors.spendLimitMicros ? true : undefined}
        aria-describedby={errors.spendLimitMicros ? "default-limit-error" : undefined}
        onChange={(event) => setLimit(event.target.value)}
      />
      {errors.spendLimitMicros && (
        <p id="default-limit-error" role="alert" className="error">
          {errors.spendLimitMicros}
        </p>
      )}
      <label htmlFor="period">Period</label>
      <select id="period" value={period} disabled={readOnly} onChange={(event) => setPeriod(event.target.value as ChatUsageLimitPeriod)}>
        {(Object.keys(PERIOD_LABELS) as ChatUsageLimitPeriod[]).map((value) => (
          <option key={value} value={value}>
            {PERIOD_LABELS[value]}
          </option>
        ))}
      </select>
      {errors.period && (
        <p role="alert" className="error">
          {errors.period}
        </p>
      )}
      <label htmlFor="mode">When a check cannot be evaluated</label>
      <select id="mode" value={mode} disabled={readOnly} onChange={(event) => setMode(event.target.value as EnforcementMode)}>
        <option value="FAIL_OPEN">Allow the work (fail open)</option>
        <option value="FAIL_CLOSED">Refuse the work (fail closed)</option>
      </select>
      {errors.form && (
        <p role="alert" className="error">
          {errors.form}
        </p>
      )}
      <button type="submit" disabled={readOnly || state.fetching}>
        Save
      </button>
      {saved && (
        <p role="status" className="ok">
          Saved.
        </p>
      )}
    </form>
  );
}

function ThresholdsForm(props: { readOnly: boolean }) {
  const [result] = useQuery({ query: ConsoleThresholdsDocument });
  const stored = result.data?.chatUsageLimitConfig.warningThresholdsPercent;
  // What the user typed, or null while they have not typed: the field then shows the stored value.
  // Seeding a state from the query in an effect would overwrite an edit made before the query (or a
  // refetch after a save) answered.
  const [edited, setEdited] = useState<string | null>(null);
  const text = edited ?? stored?.join(", ") ?? "";
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [, update] = useMutation(ConsoleUpdateThresholdsDocument);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const parsed = parseThresholds(text);
    if (!parsed.ok) {
      setMessage({ error: true, text: parsed.error });
      return;
    }
    const outcome = await update({ percents: parsed.percents });
    const error = outcome.error?.message ?? outcome.data?.updateChatUsageLimitConfig.errors[0]?.message;
    setMessage(error ? { error: true, text: error } : { error: false, text: "Thresholds saved." });
    // Saved: show the stored list again, which the server keeps sorted.
    if (!error) setEdited(null);
  }

  return (
    <form className="stack" onSubmit={submit} aria-labelledby="thresholds-title">
      <h2 id="thresholds-title">Warning thresholds</h2>
      <label htmlFor="thresholds">Warn at these shares of the limit, in percent (1 to 99, at most 5)</label>
      <input
        id="thresholds"
        value={text}
        disabled={props.readOnly || stored === undefined}
        onChange={(event) => setEdited(event.target.value)}
      />
      {message && (
        <p role={message.error ? "alert" : "status"} className={message.error ? "error" : "ok"}>
          {message.text}
        </p>
      )}
      <button type="submit" disabled={props.readOnly || stored === undefined}>
        Save thresholds
      </button>
    </form>
  );
}
