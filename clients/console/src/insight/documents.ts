// The insight and live operations, loaded as text from src/operations/ (codegen leaves them out
// until the schema has their fields) and typed with src/insight/types.ts.
import type { TypedDocumentNode } from "urql";
import { gql } from "urql";

import changes from "../operations/insight/changes.graphql?raw";
import history from "../operations/insight/history.graphql?raw";
import myHistory from "../operations/insight/my-history.graphql?raw";
import ranking from "../operations/insight/ranking.graphql?raw";
import thresholds from "../operations/insight/thresholds.graphql?raw";
import updateThresholds from "../operations/insight/update-thresholds.graphql?raw";
import myStatusLive from "../operations/live/my-status.graphql?raw";
import type {
  ChangesData,
  ChangesVariables,
  HistoryVariables,
  MySpendHistoryData,
  MyStatusLiveData,
  RankingData,
  RankingVariables,
  SpendHistoryData,
  ThresholdsData,
  UpdateThresholdsData,
} from "./types";

// One operation per file, so each document is the whole file.
function operation<Data, Variables extends object>(source: string): TypedDocumentNode<Data, Variables> {
  return gql<Data, Variables>(source);
}

export const SpendHistoryDocument = operation<SpendHistoryData, HistoryVariables & { id: string }>(history);
export const MySpendHistoryDocument = operation<MySpendHistoryData, HistoryVariables>(myHistory);
export const RankingDocument = operation<RankingData, RankingVariables>(ranking);
export const ChangesDocument = operation<ChangesData, ChangesVariables>(changes);
export const ThresholdsDocument = operation<ThresholdsData, Record<string, never>>(thresholds);
export const UpdateThresholdsDocument = operation<UpdateThresholdsData, { percents: number[] }>(updateThresholds);
export const MyStatusLiveDocument = operation<MyStatusLiveData, Record<string, never>>(myStatusLive);
