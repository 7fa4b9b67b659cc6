/** What every dialect compiler gets: the validated model, lookups over it, and the interner. */
import { Model } from "../model/model";
import { Endpoint, Namespace } from "../model/inventory";
import { PolicySetBuilder } from "../ir/builder";

export interface CompileContext {
  model: Model;
  builder: PolicySetBuilder;
  /** All endpoints, in model order. */
  endpoints: readonly Endpoint[];
  endpointByName: ReadonlyMap<string, Endpoint>;
  namespaceByName: ReadonlyMap<string, Namespace>;
}

export function createContext(model: Model): CompileContext {
  const endpoints = model.endpoints ?? [];
  return {
    model,
    builder: new PolicySetBuilder(),
    endpoints,
    endpointByName: new Map(endpoints.map((e) => [e.name, e])),
    namespaceByName: new Map((model.namespaces ?? []).map((n) => [n.name, n])),
  };
}
