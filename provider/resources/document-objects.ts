/**
 * What a document is in a cluster: the API object it is written as (a NetworkPolicy as itself, a
 * Calico profile or selector policy as its `projectcalico.org/v3` Profile / GlobalNetworkPolicy),
 * how an API field path maps back to the input property a user wrote, and how a live
 * NetworkPolicy becomes a document again (import). How a live object is judged against it is the
 * deploy layer's (deploy/cluster/objects.ts), the same for every door. Pure: no I/O.
 */
import { isRecord } from "../model/common";
import type { ClusterObject } from "../convert";
import { policyToV3, profileToV3 } from "../convert/calico-v3";
import type { CalicoPolicy, CalicoProfile } from "../model/calico";
import { NetworkPolicy, toNetworkingV1 } from "../model/kubernetes";
import type { ObjectRef } from "../targets/kube/api-kinds";

export type DocumentKind = "profile" | "policy" | "networkPolicy";

type Props = Record<string, unknown>;


/** The object a validated document is written as. A NetworkPolicy without namespace goes to "default". */
export function clusterObjectOf(kind: DocumentKind, document: Props): ClusterObject {
  switch (kind) {
    case "profile": return { ...profileToV3(document as unknown as CalicoProfile) };
    case "policy": return { ...policyToV3(document as unknown as CalicoPolicy) };
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

/** What outputs show of a live object: kind, name, labels, annotations, spec. */
export function liveView(live: Props): ClusterObject & { spec: Record<string, unknown> } {
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

/**
 * The input property a field of the written object comes from, so an API error can name what the
 * user wrote: `spec.ingress[0].source.selector` of a Profile is `inbound_rules[0]`.
 */
export function inputPathOf(kind: DocumentKind, document: Props, field: string): string {
  const f = field.replace(/^\./, "");
  if (kind === "networkPolicy") return f;
  // A rule (`spec.ingress[2]…`), or the whole list (`.spec.ingress`, as a 409 names an atomic list).
  const rule = /^spec\.(ingress|egress)(?:\[(\d+)\])?(?![\w])/.exec(f);
  if (rule) {
    const inbound = rule[1] === "ingress";
    const list = kind === "policy" && document[inbound ? "ingress" : "egress"] !== undefined ? rule[1] : inbound ? "inbound_rules" : "outbound_rules";
    return rule[2] === undefined ? list : `${list}[${rule[2]}]`;
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
