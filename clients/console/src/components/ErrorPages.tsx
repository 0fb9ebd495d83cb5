// The pages for a refused token (HTTP 401) and a refused screen (FORBIDDEN, HTTP 403's meaning).

export function Unauthorized(props: { onSignIn: () => void }) {
  return (
    <main className="page narrow" aria-labelledby="unauthorized-title">
      <h1 id="unauthorized-title">Signed out: the token was not accepted (401)</h1>
      <p>
        The server does not know this token, or it was revoked. Ask an owner for a new one
        (<code>spendlimits tokens create --username NAME</code>) and sign in again.
      </p>
      <button type="button" onClick={props.onSignIn}>
        Sign in again
      </button>
    </main>
  );
}

export function Forbidden() {
  return (
    <section className="notice" aria-labelledby="forbidden-title">
      <h1 id="forbidden-title">Not allowed (403)</h1>
      <p>Your role may not see this page. Owners and auditors see the admin screens; members see their own usage.</p>
      <p>
        <a href="/console/me">Go to your own usage</a>
      </p>
    </section>
  );
}

export function NotFound(props: { path: string }) {
  return (
    <section className="notice" aria-labelledby="missing-title">
      <h1 id="missing-title">No such page</h1>
      <p>
        Nothing lives at <code>{props.path}</code>.
      </p>
    </section>
  );
}
