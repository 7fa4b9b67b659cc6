/**
 * What a document is in a cluster: the API object it is written as (a NetworkPolicy as itself, a
 * Calico profile or selector policy as its `projectcalico.org/v3` Profile / GlobalNetworkPolicy),
 * how drift is judged (the fields the project writes, compared with the live object; fields the
 * server adds are not drift), how an API field path maps back to the input property a user wrote,
 * and how a live NetworkPolicy becomes a document again (import). Pure: no I/O.
 */
import { policyToV3, profileToV3 } from "../convert/calico-v3";
import type { CalicoPolicy, CalicoProfile } from "../model/calico";
import { NetworkPolicy, toNetworkingV1 } from "../model/kubernetes";
import type { ObjectRef } from "../targets/kube/resources";

export type DocumentKind = "profile" | "policy" | "networkPolicy";

type Props = Record<string, unknown>;

/** An object as this project writes it to a cluster API. */
export interface ClusterObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object a validated document is written as. A NetworkPolicy without namespace goes to "default". */
export function clusterObjectOf(kind: DocumentKind, document: Props): ClusterObject {
  switch (kind) {
    case "profile": return profileToV3(document as unknown as CalicoProfile) as ClusterObject;
    case "policy": return policyToV3(document as unknown as CalicoPolicy) as ClusterObject;
    case "networkPolicy": {
      const np = toNetworkingV1(document as unknown as NetworkPolicy);
      return { ...np, metadata: { ...np.metadata, namespace: np.metadata.namespace ?? "default" } } as ClusterObject;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

export function objectRef(o: ClusterObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}) };
}

/** How messages name the resource: `Profile WEB`, `Policy allow-db`, `NetworkPolicy shop/db`. */
export function resourceLabel(kind: DocumentKind, document: Props): string {
  switch (kind) {
    case "profile": return `Profile ${String(document.id)}`;
    case "policy": return `Policy ${String(document.name)}`;
    case "networkPolicy": {
      const meta = isRecord(document.metadata) ? document.metadata : {};
      return `NetworkPolicy ${String(meta.namespace ?? "default")}/${String(meta.name)}`;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

function format(v: unknown): string {
  const text = JSON.stringify(v) ?? "(none)";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Where `live` differs from `desired`, as `path: desired → live` lines. Only what `desired` sets is
 * compared (server-side apply leaves other fields alone, and servers add defaults); lists must
 * match in length and element by element.
 */
export function driftOf(desired: unknown, live: unknown, path = ""): string[] {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [`${path}: ${format(desired)} → ${format(live)}`];
    return desired.flatMap((d, i) => driftOf(d, live[i], `${path}[${i}]`));
  }
  if (isRecord(desired)) {
    if (!isRecord(live)) return [`${path}: ${format(desired)} → ${format(live)}`];
    return Object.keys(desired).sort().filter((k) => desired[k] !== undefined)
      .flatMap((k) => driftOf(desired[k], live[k], path === "" ? k : `${path}.${k}`));
  }
  return desired === live ? [] : [`${path}: ${format(desired)} → ${format(live)}`];
}

/** The part of a live object drift is judged on and outputs show: kind, name, labels, annotations, spec. */
export function liveView(live: Props): ClusterObject {
  const meta = isRecord(live.metadata) ? live.metadata : {};
  return {
    apiVersion: String(live.apiVersion),
    kind: String(live.kind),
    metadata: {
      name: String(meta.name),
      ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
      ...(isRecord(meta.labels) ? { labels: meta.labels as Record<string, string> } : {}),
      ...(isRecord(meta.annotations) ? { annotations: meta.annotations as Record<string, string> } : {}),
    },
    spec: isRecord(live.spec) ? live.spec : {},
  };
}

/** The comparison of a desired object with its live view, as the `drift` output (undefined = in sync). */
export function driftMessage(desired: ClusterObject, live: ClusterObject): string | undefined {
  const { metadata: { name: _n, namespace: _ns, ...wanted }, spec } = desired;
  const lines = driftOf({ metadata: wanted, spec }, { metadata: live.metadata, spec: live.spec });
  return lines.length === 0 ? undefined : `changed in the cluster: ${lines.join("; ")}`;
}

/**
 * The input property a field of the written object comes from, so an API error can name what the
 * user wrote: `spec.ingress[0].source.selector` of a Profile is `inbound_rules[0]`.
 */
export function inputPathOf(kind: DocumentKind, document: Props, field: string): string {
  const f = field.replace(/^\./, "");
  if (kind === "networkPolicy") return f;
  const rule = /^spec\.(ingress|egress)\[(\d+)\]/.exec(f);
  if (rule) {
    const inbound = rule[1] === "ingress";
    const list = kind === "policy" && document[inbound ? "ingress" : "egress"] !== undefined ? rule[1] : inbound ? "inbound_rules" : "outbound_rules";
    return `${list}[${rule[2]}]`;
  }
  if (f.startsWith("metadata.name")) return kind === "profile" ? "id" : "name";
  if (f.startsWith("spec.labelsToApply")) return "tags";
  if (f.startsWith("spec.selector")) return "selector";
  if (f.startsWith("spec.order")) return "order";
  return f;
}

/** Metadata the API server keeps for itself; none of it belongs in a document. */
const SERVER_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/** A live NetworkPolicy as the document inputs of a NetworkPolicy resource (what an import fills in). */
export function networkPolicyDocumentFromLive(live: Props): Props {
  const view = liveView(live);
  const annotations = Object.fromEntries(Object.entries(view.metadata.annotations ?? {}).filter(([k]) => !SERVER_ANNOTATIONS.includes(k)));
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: view.metadata.name,
      namespace: view.metadata.namespace ?? "default",
      ...(view.metadata.labels && Object.keys(view.metadata.labels).length > 0 ? { labels: view.metadata.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: view.spec,
  };
}

/** `namespace/name` (or `name`, in "default") → the NetworkPolicy's name and namespace. */
export function parseImportId(id: string): { namespace: string; name: string } | undefined {
  const parts = id.split("/");
  if (parts.length === 1 && parts[0] !== "") return { namespace: "default", name: parts[0] };
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return { namespace: parts[0], name: parts[1] };
  return undefined;
}
