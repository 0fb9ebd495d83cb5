// Set or remove an override inline: dollars in, micros to the API, the API's own error sentences out.
import { useState } from "react";

import { formatMicros, parseDollars } from "../lib/money";

export interface MutationErrors {
  errors: { message: string }[];
}

export function OverrideEditor(props: {
  /** Who the override is for, in the field's label: "Override for ada.lovelace". */
  subject: string;
  currentMicros: number | null;
  readOnly: boolean;
  onSet: (micros: number) => Promise<string | null>;
  onRemove: () => Promise<string | null>;
}) {
  const [text, setText] = useState("");
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `override-${props.subject.replace(/\W+/g, "-")}`;

  async function run(action: () => Promise<string | null>, done: string) {
    setBusy(true);
    try {
      const error = await action();
      setMessage(error === null ? { error: false, text: done } : { error: true, text: error });
      if (error === null) setText("");
    } finally {
      setBusy(false);
    }
  }

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const parsed = parseDollars(text);
    if (!parsed.ok) {
      setMessage({ error: true, text: parsed.error });
      return;
    }
    void run(() => props.onSet(parsed.micros), `Override set to ${formatMicros(parsed.micros)}.`);
  }

  return (
    <form className="override" onSubmit={submit} aria-label={`Override for ${props.subject}`}>
      <span className="current">{props.currentMicros === null ? "none" : formatMicros(props.currentMicros)}</span>
      <label htmlFor={id} className="visually-hidden">
        New override for {props.subject}, in dollars
      </label>
      <input
        id={id}
        inputMode="decimal"
        placeholder="$"
        value={text}
        disabled={props.readOnly || busy}
        aria-invalid={message?.error ? true : undefined}
        aria-describedby={message ? `${id}-message` : undefined}
        onChange={(event) => setText(event.target.value)}
      />
      <button type="submit" disabled={props.readOnly || busy}>
        Set
      </button>
      <button
        type="button"
        disabled={props.readOnly || busy || props.currentMicros === null}
        onClick={() => void run(props.onRemove, "Override removed.")}
      >
        Remove
      </button>
      {message && (
        <span id={`${id}-message`} role={message.error ? "alert" : "status"} className={message.error ? "error" : "ok"}>
          {message.text}
        </span>
      )}
    </form>
  );
}

/** The first error sentence of a mutation's payload, or of the request, or null when it worked. */
export function firstError(
  result: { error?: { message: string; graphQLErrors: { message: string }[] } | undefined },
  payload: MutationErrors | null | undefined,
): string | null {
  if (result.error) return result.error.graphQLErrors[0]?.message ?? result.error.message;
  return payload?.errors[0]?.message ?? null;
}
