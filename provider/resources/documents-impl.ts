/**
 * Profile, Policy (Calico) and NetworkPolicy (Kubernetes): documents a Network enforces on its
 * hosts. check validates and exposes the validated document as `document` (known at preview, so a
 * Network's preview can render with it). A NetworkPolicy with a `cluster` is also pushed to that
 * cluster's API by server-side apply.
 */
import { toNetworkingV1 } from "../model/kubernetes";
import type { ClusterConnection } from "../targets/kube/kubeconfig";
import type { KubeClient } from "../targets/kube/client";
import { CheckFailure, containsUnknown, Props, schemaFailures, UNKNOWN } from "./inputs";
import { ClusterTarget, NetworkPolicyInputs, PolicyInputs, ProfileInputs } from "./schema";
import { kubeTargets } from "./targets";

export type DocumentKind = "profile" | "policy" | "networkPolicy";

const SCHEMA = { profile: ProfileInputs, policy: PolicyInputs, networkPolicy: NetworkPolicyInputs } as const;

/** The document fields of the inputs (a profile's `id` travels as `profileId`: `id` is reserved by Pulumi). */
function withoutProvider(p: Props): Props {
  return Object.fromEntries(Object.entries(p).filter(([k]) => k !== "__provider" && k !== "document" && k !== "live")
    .map(([k, v]) => [k === "profileId" ? "id" : k, v]));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The document itself: the inputs without the cluster target, as parsed (defaults applied). */
function documentOf(kind: DocumentKind, p: Props): Props {
  const { cluster: _cluster, ...doc } = withoutProvider(p);
  const parsed = SCHEMA[kind].parse(kind === "networkPolicy" ? { ...doc } : doc) as Props;
  if (kind !== "networkPolicy") return parsed;
  const { cluster: _c, ...policy } = parsed;
  return toNetworkingV1(policy as Parameters<typeof toNetworkingV1>[0]) as unknown as Props;
}

export function checkDocument(kind: DocumentKind, news: Props): { inputs: Props; failures: CheckFailure[] } {
  const failures = schemaFailures(SCHEMA[kind], withoutProvider(news));
  const inputs: Props = { ...news };
  if (failures.length === 0) inputs.document = containsUnknown(withoutProvider(news)) ? UNKNOWN : documentOf(kind, news);
  return { inputs, failures };
}

/** What names the object: a change here replaces it. */
export function identity(kind: DocumentKind, p: Props): string {
  switch (kind) {
    case "profile": return `profile/${String(p.profileId ?? p.id)}`;
    case "policy": return `policy/${String(p.name)}`;
    case "networkPolicy": {
      const meta = isRecord(p.metadata) ? p.metadata : {};
      const c = isRecord(p.cluster) ? p.cluster : undefined;
      const where = c ? `${String(c.kubeconfig ?? "")}#${String(c.context ?? "")}#${c.kubeconfigContent ? "inline" : ""}` : "document";
      return `${where}/${String(meta.namespace ?? "default")}/${String(meta.name)}`;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isRecord(v)) return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

export function diffDocument(kind: DocumentKind, olds: Props, news: Props): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaceKey = kind === "profile" ? "profileId" : kind === "policy" ? "name" : "metadata";
  const oldId = identity(kind, olds);
  const newId = identity(kind, news);
  const replaces = oldId !== newId ? [kind === "networkPolicy" && canonical(olds.cluster) !== canonical(news.cluster) ? "cluster" : replaceKey] : [];
  const drift = olds.live !== undefined && canonical(olds.live) !== canonical(olds.document);
  const changes = canonical(withoutProvider(olds)) !== canonical(withoutProvider(news)) || drift;
  return { changes: changes || replaces.length > 0, replaces, deleteBeforeReplace: false };
}

async function connect(cluster: ClusterTarget): Promise<KubeClient> {
  const { client } = kubeTargets();
  return client.KubeClient.connect({
    ...(cluster.kubeconfigContent ? { inline: cluster.kubeconfigContent } : cluster.kubeconfig ? { kubeconfig: cluster.kubeconfig } : {}),
    ...(cluster.context ? { context: cluster.context } : {}),
  });
}

function clusterOf(p: Props): ClusterTarget | undefined {
  return isRecord(p.cluster) ? ClusterTarget.parse(p.cluster) : undefined;
}

/** The NetworkPolicy in the cluster, as its spec (what drift is judged on). */
function liveSpec(o: { spec?: unknown } | undefined): unknown {
  return o?.spec ?? null;
}

async function push(p: Props): Promise<Props> {
  const cluster = clusterOf(p);
  if (!cluster) return {};
  const doc = documentOf("networkPolicy", p);
  const kube = await connect(cluster);
  try {
    const live = await kube.apply(doc, { fieldManager: cluster.fieldManager ?? "pulumi-netpolicy", force: true });
    return { live: { ...doc, spec: liveSpec(live as { spec?: unknown }) } };
  } catch (e) {
    const meta = isRecord(doc.metadata) ? doc.metadata : {};
    throw new Error(`NetworkPolicy ${String(meta.namespace ?? "default")}/${String(meta.name)}: server-side apply failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function createDocument(kind: DocumentKind, inputs: Props): Promise<{ id: string; outs: Props }> {
  const document = documentOf(kind, inputs);
  const extra = kind === "networkPolicy" ? await push(inputs) : {};
  return { id: identity(kind, inputs), outs: { ...inputs, document, ...extra } };
}

export async function updateDocument(kind: DocumentKind, news: Props): Promise<{ outs: Props }> {
  const { outs } = await createDocument(kind, news);
  return { outs };
}

function refOf(p: Props): { apiVersion: string; kind: string; name: string; namespace: string } {
  const meta = isRecord(p.metadata) ? p.metadata : {};
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: String(meta.name), namespace: String(meta.namespace ?? "default") };
}

export async function readDocument(kind: DocumentKind, id: string, props: Props): Promise<{ id: string; props: Props }> {
  const cluster = kind === "networkPolicy" ? clusterOf(props) : undefined;
  if (!cluster) return { id, props };
  const kube = await connect(cluster);
  const live = await kube.get(refOf(props));
  if (!live) return { id: "", props: {} };
  const document = isRecord(props.document) ? props.document : {};
  return { id, props: { ...props, live: { ...document, spec: liveSpec(live as { spec?: unknown }) } } };
}

export async function deleteDocument(kind: DocumentKind, props: Props): Promise<void> {
  const cluster = kind === "networkPolicy" ? clusterOf(props) : undefined;
  if (!cluster) return;
  const kube = await connect(cluster);
  await kube.delete(refOf(props));
}

export type { ClusterConnection };
