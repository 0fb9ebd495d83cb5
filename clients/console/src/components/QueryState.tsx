// Loading, refusal and failure of a query, shown the same way on every screen.
import type { ReactNode } from "react";
import type { CombinedError } from "urql";

import { errorCodes } from "../lib/client";
import { Forbidden } from "./ErrorPages";

export function QueryState(props: { fetching: boolean; error: CombinedError | undefined; hasData: boolean; children: () => ReactNode }) {
  if (props.error && errorCodes(props.error).includes("FORBIDDEN")) {
    return <Forbidden />;
  }
  if (props.error && !props.hasData) {
    return (
      <p role="alert" className="error">
        Could not load this page: {props.error.graphQLErrors[0]?.message ?? props.error.networkError?.message ?? props.error.message}
      </p>
    );
  }
  if (!props.hasData) {
    return props.fetching ? <p aria-busy="true">Loading…</p> : null;
  }
  return <>{props.children()}</>;
}
