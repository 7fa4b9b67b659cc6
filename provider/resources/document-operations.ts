/**
 * Profile, Policy (Calico) and NetworkPolicy (Kubernetes): documents a Network enforces on its
 * hosts. check validates and exposes the validated document as `document` (known at preview, so a
 * Network's preview can render with it). With a `cluster` the document is also written to that
 * cluster's API by server-side apply: a NetworkPolicy as itself, a Profile / Policy as a Calico v3
 * Profile / GlobalNetworkPolicy (shown at preview as `calicoObject`). Refresh reads the object
 * back: `live` shows it and `drift` says which written fields changed; a gone object leaves the
 * state. A NetworkPolicy can be imported by `namespace/name`.
 */
import { CalicoPolicy, CalicoProfile } from "../model/calico";
import { NetworkPolicy as NetworkPolicyDoc, toNetworkingV1 } from "../model/kubernetes";
import type { ClusterObject } from "../convert";
import { desiredObject } from "../deploy/cluster/objects";
import { ClusterTarget } from "../deploy/cluster/target";
import type { Settled } from "../deploy/target";
import { KubeClient } from "../targets/kube/client";
import type { ApiError } from "../targets/api-errors";
import { clusterObjectOf, DocumentKind, inputPathOf, liveView, networkPolicyDocumentFromLive, objectRef, parseImportId, resourceLabel } from "./document-objects";
import { kubeconfigOptions, resolvedServerDigest, SERVER_DIGEST_KEY, serverDigest, storedServerDigest, writtenServerDigest } from "./cluster-server";
import { isRecord } from "../model/common";
import { CheckFailure, containsUnknown, Props, schemaFailures, UNKNOWN } from "./inputs";
import { ClusterInput } from "./schema";

export type { DocumentKind };

const DOCUMENT_SCHEMA = { profile: CalicoProfile, policy: CalicoPolicy, networkPolicy: NetworkPolicyDoc } as const;

/** Keys the provider computes; they never come from the user. */
const COMPUTED_KEYS: readonly string[] = ["__provider", "document", "calicoObject", "live", "drift", SERVER_DIGEST_KEY];

/** The user's inputs (a profile's `id` travels as `profileId`: `id` is reserved by Pulumi). */
function userInputs(p: Props): Props {
  return Object.fromEntries(Object.entries(p).filter(([k]) => !COMPUTED_KEYS.includes(k))
    .map(([k, v]) => [k === "profileId" ? "id" : k, v]));
}

/** The document fields: the user's inputs without the cluster target. */
function documentFields(p: Props): Props {
  const { cluster: _cluster, ...doc } = userInputs(p);
  return doc;
}

/** The document itself, as parsed (defaults applied; a NetworkPolicy in networking.k8s.io/v1). */
function documentOf(kind: DocumentKind, p: Props): Props {
  const parsed = DOCUMENT_SCHEMA[kind].parse(documentFields(p)) as Props;
  return kind === "networkPolicy" ? toNetworkingV1(parsed as unknown as NetworkPolicyDoc) as unknown as Props : parsed;
}

function clusterOf(p: Props): ClusterInput | undefined {
  return isRecord(p.cluster) ? ClusterInput.parse(p.cluster) : undefined;
}

export function checkDocument(kind: DocumentKind, news: Props): { inputs: Props; failures: CheckFailure[] } {
  const doc = documentFields(news);
  const cluster = news.cluster;
  const failures = [
    ...schemaFailures(DOCUMENT_SCHEMA[kind], doc),
    ...(cluster === undefined ? [] : schemaFailures(ClusterInput, cluster).map((f) => ({ ...f, property: f.property === "" ? "cluster" : `cluster.${f.property}` }))),
  ];
  const inputs: Props = { ...news };
  if (failures.length > 0) return { inputs, failures };
  const document = containsUnknown(doc) ? UNKNOWN : documentOf(kind, news);
  inputs.document = document;
  if (cluster !== undefined && kind !== "networkPolicy") inputs.calicoObject = document === UNKNOWN ? UNKNOWN : clusterObjectOf(kind, document as Props);
  return { inputs, failures };
}

/** How the target is given (path, context, inline or not): what identified a cluster before servers were resolved. */
function clusterKey(c: unknown): string {
  if (c === UNKNOWN) return UNKNOWN;
  if (!isRecord(c)) return "document";
  return `${String(c.kubeconfig ?? "")}#${String(c.context ?? "")}#${c.kubeconfigContent !== undefined ? "inline" : ""}`;
}

/** What names the object: a change here replaces it. */
export function identity(kind: DocumentKind, p: Props): string {
  const where = clusterKey(p.cluster);
  switch (kind) {
    case "profile": return `${where}/profile/${String(p.profileId ?? p.id)}`;
    case "policy": return `${where}/policy/${String(p.name)}`;
    case "networkPolicy": {
      const meta = isRecord(p.metadata) ? p.metadata : {};
      return `${where}/${String(meta.namespace ?? "default")}/${String(meta.name)}`;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** The resource id: the object's name in the API with a cluster (`ns/name` for a NetworkPolicy), else the identity. */
function resourceId(kind: DocumentKind, p: Props): string {
  if (!isRecord(p.cluster)) return kind === "networkPolicy" ? identity(kind, p) : identity(kind, p).replace(/^document\//, "");
  const o = clusterObjectOf(kind, documentOf(kind, p));
  return o.metadata.namespace !== undefined ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isRecord(v)) return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/**
 * Whether the object would now go to another cluster: the servers the old and new kubeconfigs
 * resolve to differ. When either cannot be resolved here (a part not known yet at preview, or a
 * kubeconfig that does not load: create reports why), how the target is given decides, as before.
 * A cluster not known yet at all (preview) may well be the same one: no replacement is claimed.
 */
async function clusterMoved(olds: Props, news: Props): Promise<boolean> {
  if (clusterKey(news.cluster) === UNKNOWN) return false;
  if (isRecord(olds.cluster) && isRecord(news.cluster)) {
    const [before, after] = await Promise.all([writtenServerDigest(olds), resolvedServerDigest(news.cluster)]);
    if (before !== undefined && after !== undefined) return before !== after;
  }
  return clusterKey(olds.cluster) !== clusterKey(news.cluster);
}

/**
 * What a change is judged on: the user's inputs; for a NetworkPolicy with a cluster, the document
 * as the object written (the API server's defaults in, empty lists and maps out), because the
 * server stores both spellings alike. So `policyTypes` written out or left to its default,
 * `protocol: TCP` or none, `ingress: []` or none are no change: after an import, whose inputs come
 * from the live (defaulted) object, a program declaring its manifest as written updates nothing.
 */
function comparedInputs(kind: DocumentKind, p: Props): Props {
  const inputs = userInputs(p);
  if (kind !== "networkPolicy" || !isRecord(p.cluster) || containsUnknown(documentFields(p))) return inputs;
  try {
    return { cluster: inputs.cluster, written: desiredObject(clusterObjectOf(kind, documentOf(kind, p))).object };
  } catch {
    return inputs; // not writable (create reports why): compared as given
  }
}

/** Only property names and booleans leave diff: never a kubeconfig, a server or a kubeconfig error. */
export async function diffDocument(kind: DocumentKind, olds: Props, news: Props): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
  const replaceKey = kind === "profile" ? "profileId" : kind === "policy" ? "name" : "metadata";
  const clusterChanged = await clusterMoved(olds, news);
  const sameWhere = (p: Props) => identity(kind, { ...p, cluster: olds.cluster });
  const replaces = clusterChanged ? ["cluster"] : sameWhere(olds) !== sameWhere(news) ? [replaceKey] : [];
  const drifted = typeof olds.drift === "string";
  const changes = canonical(comparedInputs(kind, olds)) !== canonical(comparedInputs(kind, news)) || drifted;
  return { changes: changes || replaces.length > 0, replaces, deleteBeforeReplace: false };
}

async function connect(cluster: ClusterInput): Promise<KubeClient> {
  return KubeClient.connect(kubeconfigOptions(cluster));
}

/**
 * The deploy layer's cluster target for this one object: the same label, comparison and
 * server-side apply as `netpol apply`. A resource takes over an object of the same name that
 * exists (an import, or the first apply over a hand-made one); `force` decides field conflicts.
 */
function deployTarget(kube: KubeClient, cluster: ClusterInput, object: ClusterObject): ClusterTarget {
  return new ClusterTarget("cluster", [desiredObject(object)], kube, {
    fieldManager: cluster.fieldManager ?? "pulumi-netpolicy",
    forceConflicts: cluster.force ? "always" : "never",
  });
}

/** The one item of a single-object report, or its error. */
function only<T>(items: Settled<T>[]): T {
  const item = items[0];
  if (!item.ok) throw item.error;
  return item.value;
}

/**
 * Connects for reading or deleting the object of these outputs, refusing a kubeconfig file that now
 * resolves to another server than the one the object was written to: the object is not there, and
 * one of the same name there is not this resource's.
 */
async function connectWhereWritten(cluster: ClusterInput, outputs: Props): Promise<KubeClient> {
  const kube = await connect(cluster);
  const written = outputs[SERVER_DIGEST_KEY];
  if (typeof written === "string" && serverDigest(kube.connection.server) !== written) {
    throw new Error("the kubeconfig of `cluster` (its file and context) now resolves to another API server than the one the object was written to, "
      + "so nothing was done there; point cluster.kubeconfig / cluster.context back at that server, or remove the resource from the state (pulumi state delete) and delete the object there by hand");
  }
  return kube;
}

function isApiError(e: unknown): e is ApiError {
  return e instanceof Error && e.name === "ApiError" && Array.isArray((e as { causes?: unknown }).causes);
}

/** The whole story of a failed call: which resource, which step, the API's words, and the input properties at fault. */
function clusterError(kind: DocumentKind, document: Props, step: string, e: unknown): Error {
  const cause = e instanceof Error ? e.message : String(e);
  const fields = isApiError(e) ? [...new Set(e.causes.map((c) => c.field).filter((f): f is string => f !== undefined && f !== "").map((f) => inputPathOf(kind, document, f)))] : [];
  const at = fields.length > 0 ? ` (input ${fields.length === 1 ? "property" : "properties"}: ${fields.join(", ")})` : "";
  return new Error(`${resourceLabel(kind, document)}: ${step} failed: ${cause}${at}`);
}

/** Writes the document's object by server-side apply; the outputs `live` and (never, right after a write) `drift`. */
async function push(kind: DocumentKind, p: Props, document: Props): Promise<Props> {
  const cluster = clusterOf(p);
  if (!cluster) return {};
  const desired = clusterObjectOf(kind, document);
  try {
    const kube = await connect(cluster);
    const outcome = only((await deployTarget(kube, cluster, desired).apply({ force: true, adopt: true })).items);
    return { live: liveView(outcome.live ?? {}), ...storedServerDigest(cluster, kube.connection.server) };
  } catch (e) {
    throw clusterError(kind, document, "server-side apply", e);
  }
}

function outputsOf(inputs: Props, document: Props, extra: Props, kind: DocumentKind): Props {
  const { drift: _drift, live: _live, [SERVER_DIGEST_KEY]: _written, ...rest } = inputs;
  const calico = isRecord(inputs.cluster) && kind !== "networkPolicy" ? { calicoObject: clusterObjectOf(kind, document) } : {};
  return { ...rest, document, ...calico, ...extra };
}

export async function createDocument(kind: DocumentKind, inputs: Props): Promise<{ id: string; outs: Props }> {
  const document = documentOf(kind, inputs);
  const extra = await push(kind, inputs, document);
  return { id: resourceId(kind, inputs), outs: outputsOf(inputs, document, extra, kind) };
}

export async function updateDocument(kind: DocumentKind, news: Props): Promise<{ outs: Props }> {
  const { outs } = await createDocument(kind, news);
  return { outs };
}

/** Import: `namespace/name` read from the cluster named by the inputs; the live object becomes the document. */
async function importNetworkPolicy(id: string, props: Props, cluster: ClusterInput): Promise<{ id: string; props: Props; inputs: Props }> {
  const at = parseImportId(id);
  if (!at) throw new Error(`NetworkPolicy import: id "${id}" is not "namespace/name" (or "name" in namespace default)`);
  const label = `NetworkPolicy ${at.namespace}/${at.name}`;
  let live: Props | undefined;
  try {
    const kube = await connect(cluster);
    live = await kube.get({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: at.name, namespace: at.namespace });
  } catch (e) {
    throw new Error(`${label}: import failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!live) throw new Error(`${label}: import failed: no such NetworkPolicy in the cluster (check the namespace, the name and the kubeconfig context)`);
  const doc = networkPolicyDocumentFromLive(live);
  const failures = schemaFailures(NetworkPolicyDoc, doc);
  if (failures.length > 0) {
    throw new Error(`${label}: import failed: the live object uses what this project does not model: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  }
  const inputs: Props = { ...doc, cluster: props.cluster };
  const document = documentOf("networkPolicy", inputs);
  return { id: `${at.namespace}/${at.name}`, props: { ...inputs, document, live: liveView(live) }, inputs };
}

export async function readDocument(kind: DocumentKind, id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
  const cluster = clusterOf(props);
  if (!cluster) return { id, props };
  const fields = documentFields(props);
  const imported = Object.keys(fields).filter((k) => k !== "apiVersion" && k !== "kind").length === 0;
  if (imported) {
    if (kind !== "networkPolicy") throw new Error(`${kind === "profile" ? "Profile" : "Policy"} import is not supported: write the ${kind} in the program; an existing object of that name is taken over by the first apply`);
    return importNetworkPolicy(id, props, cluster);
  }
  const document = documentOf(kind, props);
  const desired: ClusterObject = clusterObjectOf(kind, document);
  let status;
  try {
    const kube = await connectWhereWritten(cluster, props);
    status = only((await deployTarget(kube, cluster, desired).status()).items);
  } catch (e) {
    throw clusterError(kind, document, "reading the object back", e);
  }
  if (status.state === "missing" || !status.live) return { id: "", props: {} };
  const drift = status.state === "in sync" ? undefined : status.drift?.reason ?? status.detail;
  const { drift: _old, ...rest } = props;
  return { id, props: { ...rest, live: liveView(status.live), ...(drift !== undefined ? { drift } : {}) } };
}

export async function deleteDocument(kind: DocumentKind, props: Props): Promise<void> {
  const cluster = clusterOf(props);
  if (!cluster) return;
  const document = documentOf(kind, props);
  const desired = clusterObjectOf(kind, document);
  try {
    const kube = await connectWhereWritten(cluster, props);
    await kube.delete(objectRef(desired));
  } catch (e) {
    throw clusterError(kind, document, "delete", e);
  }
}
