// Sign-in: paste a token. It is checked against the API before the console keeps it.
import { useState } from "react";

export function SignIn(props: { onToken: (token: string) => Promise<string | null>; notice: string | null }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const trimmed = token.trim().replace(/^Bearer\s+/i, "");
    if (trimmed === "") {
      setError("Paste a token first.");
      return;
    }
    setBusy(true);
    setError(await props.onToken(trimmed));
    setBusy(false);
  }

  return (
    <main className="page narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to the spendlimits console</h1>
      {props.notice && <p role="status">{props.notice}</p>}
      <form onSubmit={submit} className="stack">
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby="token-help"
        />
        <p id="token-help" className="help">
          <code>spendlimits tokens create --username NAME</code> prints one; <code>make run ARGS=--demo</code> prints an
          owner's. It is kept in this tab only (sessionStorage) until you sign out.
        </p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
