// The console's frame: sign-in, the 401 page, then the navigation for the viewer's role and the
// screen the address names. Screens that need insight or live APIs appear only when the server has them.
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Client } from "urql";
import { Provider, useQuery } from "urql";

import { Forbidden, NotFound, Unauthorized } from "./components/ErrorPages";
import { ConsoleViewerDocument } from "./gql/graphql";
import { ThresholdsDocument } from "./insight/documents";
import type { Capabilities } from "./lib/capabilities";
import { detectCapabilities } from "./lib/capabilities";
import { createClient } from "./lib/client";
import type { Route } from "./lib/router";
import { href, navigate, useRoute } from "./lib/router";
import { forgetToken, storeToken, storedToken } from "./lib/session";
import type { Session, Viewer } from "./lib/session-context";
import { SessionContext, useSession } from "./lib/session-context";
import { DEFAULT_THRESHOLDS_PERCENT } from "./lib/thresholds";
import { Audit } from "./screens/Audit";
import { Groups } from "./screens/Groups";
import { Me } from "./screens/Me";
import { Overview } from "./screens/Overview";
import { SignIn } from "./screens/SignIn";
import { UserDetail } from "./screens/UserDetail";
import { Users } from "./screens/Users";

interface SignedIn {
  client: Client;
  viewer: Viewer;
  capabilities: Capabilities;
}

export function App() {
  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  const [unauthorized, setUnauthorized] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [restoring, setRestoring] = useState(() => storedToken() !== null);

  const signOut = useCallback((message: string | null) => {
    forgetToken();
    setSignedIn(null);
    setNotice(message);
  }, []);

  /** Checks a token against the API; keeps it when it belongs to a user. Returns an error sentence. */
  const signIn = useCallback(async (token: string): Promise<string | null> => {
    let refused = false;
    const client = createClient(token, {
      onUnauthorized: () => {
        refused = true;
        if (storedToken() === token) {
          forgetToken();
          setSignedIn(null);
          setUnauthorized(true);
        }
      },
    });
    const result = await client.query(ConsoleViewerDocument, {}, { requestPolicy: "network-only" }).toPromise();
    if (refused) return "The server did not accept this token (401): it is unknown or revoked.";
    if (result.error) return `Could not sign in: ${result.error.message}`;
    const viewer = result.data?.viewer;
    if (!viewer) return "This is a service token: the console is for people. Use a user's token.";
    storeToken(token);
    setUnauthorized(false);
    setNotice(null);
    setSignedIn({ client, viewer, capabilities: await detectCapabilities(client) });
    return null;
  }, []);

  useEffect(() => {
    const token = storedToken();
    if (token === null) return;
    void signIn(token).then((error) => {
      if (error !== null) signOut(error);
      setRestoring(false);
    });
  }, [signIn, signOut]);

  if (unauthorized) {
    return (
      <Unauthorized
        onSignIn={() => {
          setUnauthorized(false);
          navigate({ screen: "home" }, true);
        }}
      />
    );
  }
  if (restoring && signedIn === null) return <p aria-busy="true">Signing in…</p>;
  if (signedIn === null) return <SignIn onToken={signIn} notice={notice} />;
  return (
    <Provider value={signedIn.client}>
      <Shell signedIn={signedIn} onSignOut={() => signOut("Signed out.")} />
    </Provider>
  );
}

function Shell(props: { signedIn: SignedIn; onSignOut: () => void }) {
  const { viewer, capabilities } = props.signedIn;
  const admin = viewer.role === "OWNER" || viewer.role === "AUDITOR";
  const [thresholdResult] = useQuery({ query: ThresholdsDocument, pause: !admin || !capabilities.thresholds });
  const thresholds = thresholdResult.data?.chatUsageLimitConfig.warningThresholdsPercent ?? DEFAULT_THRESHOLDS_PERCENT;
  const session: Session = useMemo(
    () => ({ viewer, capabilities, readOnly: viewer.role !== "OWNER", thresholds }),
    [viewer, capabilities, thresholds],
  );
  const route = useRoute();

  useEffect(() => {
    if (route.screen === "home") navigate(admin ? { screen: "overview" } : { screen: "me" }, true);
  }, [route, admin]);

  const links: { route: Route; label: string }[] = admin
    ? [
        { route: { screen: "overview" }, label: "Overview" },
        { route: { screen: "users" }, label: "Users" },
        { route: { screen: "groups" }, label: "Groups" },
        ...(capabilities.audit ? [{ route: { screen: "audit" } as Route, label: "Audit log" }] : []),
        { route: { screen: "me" }, label: "My usage" },
      ]
    : [{ route: { screen: "me" }, label: "My usage" }];

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">spendlimits</span>
        <nav aria-label="Console">
          <ul>
            {links.map((link) => (
              <li key={link.label}>
                <a
                  href={href(link.route)}
                  aria-current={link.route.screen === route.screen ? "page" : undefined}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(link.route);
                  }}
                >
                  {link.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {viewer.username} <span className="role">{viewer.role.toLowerCase()}</span>
        </span>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <Screen route={route} admin={admin} />
      </main>
    </SessionContext.Provider>
  );
}

function Screen(props: { route: Route; admin: boolean }) {
  const { capabilities } = useSession();
  const { route, admin } = props;
  if (route.screen === "me" || route.screen === "home") return <Me />;
  if (route.screen === "missing") return <NotFound path={route.path} />;
  // MEMBERs may read only themselves; the API would refuse these screens anyway (FORBIDDEN).
  if (!admin) return <Forbidden />;
  switch (route.screen) {
    case "overview":
      return <Overview />;
    case "users":
      return <Users />;
    case "user":
      return <UserDetail id={route.id} />;
    case "groups":
      return <Groups />;
    case "audit":
      return capabilities.audit ? <Audit /> : <NotFound path={href(route)} />;
  }
}
