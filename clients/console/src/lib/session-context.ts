// What every screen needs to know about the signed-in person and the server.
import { createContext, useContext } from "react";

import type { ConsoleViewerQuery } from "../gql/graphql";
import type { Capabilities } from "./capabilities";

export type Viewer = NonNullable<ConsoleViewerQuery["viewer"]>;

export interface Session {
  viewer: Viewer;
  capabilities: Capabilities;
  /** AUDITORs see everything an OWNER sees, with every control disabled. */
  readOnly: boolean;
  /** The warning thresholds in percent, ascending (the server's, or the default). */
  thresholds: readonly number[];
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside a signed-in console");
  return session;
}
