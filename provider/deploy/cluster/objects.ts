/**
 * The objects this project keeps in a cluster, whichever door writes them (`netpol apply`, a
 * Profile / Policy / NetworkPolicy resource with a cluster), and the one way a live object is
 * judged against them. Pure: no I/O.
 *
 * What is ours:
 * - NetworkPolicies and Calico v3 objects are written with the label
 *   `app.kubernetes.io/managed-by: pulumi-netpolicy`. Only objects carrying it are updated or
 *   deleted; an object of the same name without it belongs to someone else and is left alone
 *   (apply refuses it unless `--adopt`, destroy skips it).
 * - A Namespace (the legacy isolation annotation) is never created or deleted: the project owns
 *   only the annotation, through its field manager `pulumi-netpolicy` in `managedFields`.
 *
 * What is compared (plan, status):
 * - a NetworkPolicy's whole `spec`, written with the defaults the API server would fill in
 *   (`policyTypes` as the model's semantics define it, port `protocol: TCP`), so a live object
 *   equals the desired one exactly when nothing was changed by hand;
 * - a Calico object's spec as far as the model writes it: Calico's API server fills in defaults
 *   this tool does not know, so fields the model does not write are not compared;
 * - the labels and annotations the model writes (the Namespace annotation among them).
 */
import { stringify } from "yaml";
import { effectivePolicyTypes } from "../../compile/kubernetes";
import { ClusterObject, clusterObjects } from "../../convert";
import { isRecord } from "../../model/common";
import { InputError, InputIssue } from "../../model/errors";
import { NetworkPolicy } from "../../model/kubernetes";
import { Model } from "../../model/model";
import type { KubeObject } from "../../targets/kube/client";
import { ClientInputError } from "../../targets/api-errors";
import { describeRef, ObjectRef, objectPath } from "../../targets/kube/api-kinds";
import { DiffLine, diffLines } from "../line-diff";

/** Marks the objects this project created (the Kubernetes recommended label). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** Field manager of every server-side apply, and the label's value. */
export const FIELD_MANAGER = "pulumi-netpolicy";

export interface DesiredObject {
  ref: ObjectRef;
  /** `networking.k8s.io/v1 NetworkPolicy default/web`: how output and errors name it. */
  title: string;
  /** What apply sends (server-side apply body). */
  object: ClusterObject;
  /** A Namespace: only an annotation is ours; the namespace is never created or deleted. */
  annotationOnly: boolean;
}

type Json = Record<string, unknown>;

/** Maps (Go `map[string]string`) that the API server drops when empty; other `{}` are structs and stay. */
const OMITTED_EMPTY_MAPS = new Set(["matchLabels", "labels", "annotations", "labelsToApply"]);

/**
 * A value as the API server stores it: empty lists dropped everywhere (`ingress: []`,
 * `from: []`, `except: []`, …) and empty label maps dropped (`matchLabels: {}`), the way Go's
 * `omitempty` drops them. A struct that is empty stays: `podSelector: {}` selects every pod, and
 * `namespaceSelector: {}` every namespace.
 */
export function asServerStores(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asServerStores);
  if (!isRecord(value)) return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value)) {
    const stored = asServerStores(inner);
    if (Array.isArray(stored) && stored.length === 0) continue;
    if (OMITTED_EMPTY_MAPS.has(key) && isRecord(stored) && Object.keys(stored).length === 0) continue;
    if (stored !== undefined) out[key] = stored;
  }
  return out;
}

/** NetworkPolicy spec with the API server's defaults written out. */
function withApiDefaults(raw: NetworkPolicy["spec"]): NetworkPolicy["spec"] {
  const spec = asServerStores(raw) as NetworkPolicy["spec"];
  const types = effectivePolicyTypes({ spec } as NetworkPolicy);
  const ports = <T extends { ports?: { protocol?: string }[] }>(rule: T): T =>
    (rule.ports === undefined ? rule : { ...rule, ports: rule.ports.map((p) => ({ ...p, protocol: p.protocol ?? "TCP" })) });
  return {
    ...spec,
    policyTypes: spec.policyTypes !== undefined && spec.policyTypes.length > 0
      ? spec.policyTypes
      : [...(types.ingress ? ["Ingress" as const] : []), ...(types.egress ? ["Egress" as const] : [])],
    ...(spec.ingress !== undefined ? { ingress: spec.ingress.map(ports) } : {}),
    ...(spec.egress !== undefined ? { egress: spec.egress.map(ports) } : {}),
  };
}

function refOf(o: ClusterObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}) };
}

/**
 * One object as it is written: labelled as ours (a Namespace excepted: only its annotation is
 * ours) and, for a NetworkPolicy, with the API server's defaults written out. Throws a message
 * (no path) when the object cannot be written.
 */
export function desiredObject(raw: ClusterObject): DesiredObject {
  const ref = refOf(raw);
  const title = describeRef(ref);
  try {
    objectPath(ref);
  } catch (e) {
    if (e instanceof ClientInputError) throw new Error(e.message);
    throw e;
  }
  const annotationOnly = raw.kind === "Namespace";
  const rawLabels = (raw.metadata as Json).labels;
  const labels = isRecord(rawLabels) ? (rawLabels as Record<string, string>) : {};
  const foreign = labels[MANAGED_BY_LABEL];
  if (!annotationOnly && foreign !== undefined && foreign !== FIELD_MANAGER) {
    throw new Error(`${title}: metadata.labels["${MANAGED_BY_LABEL}"] is "${foreign}", but netpol sets it to "${FIELD_MANAGER}" to mark the objects it manages; remove it`);
  }
  let object: ClusterObject = raw;
  if (!annotationOnly) {
    const metadata: ClusterObject["metadata"] & { labels: Record<string, string> } = { ...raw.metadata, labels: { ...labels, [MANAGED_BY_LABEL]: FIELD_MANAGER } };
    object = { ...raw, metadata };
    if (raw.apiVersion === "networking.k8s.io/v1" && raw.kind === "NetworkPolicy") {
      object = { ...object, spec: withApiDefaults(raw.spec as NetworkPolicy["spec"]) };
    } else if (raw.spec !== undefined) {
      object = { ...object, spec: asServerStores(raw.spec) as ClusterObject["spec"] };
    }
  }
  return { ref, title, object, annotationOnly };
}

/**
 * Every object the model puts in its cluster. Throws one InputError (naming the model file)
 * listing every object that cannot be written.
 */
export function desiredObjects(model: Model, file: string, options: { legacyIsolationAnnotation?: boolean } = {}): DesiredObject[] {
  const issues: InputIssue[] = [];
  const seen = new Set<string>();
  const out: DesiredObject[] = [];
  for (const raw of clusterObjects(model, { legacyIsolationAnnotation: options.legacyIsolationAnnotation ?? model.cluster?.legacyIsolationAnnotation })) {
    let d: DesiredObject;
    try {
      d = desiredObject(raw);
    } catch (e) {
      issues.push({ path: "cluster", message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const key = `${d.ref.apiVersion} ${d.ref.kind} ${d.ref.namespace ?? ""}/${d.ref.name}`;
    if (seen.has(key)) {
      issues.push({ path: "cluster", message: `${d.title}: two documents of the model become this same object; rename one of them` });
      continue;
    }
    seen.add(key);
    out.push(d);
  }
  if (issues.length > 0) throw new InputError(file, issues);
  return out;
}

/** Is the live object one this project manages? */
export function isOurs(desired: DesiredObject, live: KubeObject): boolean {
  if (desired.annotationOnly) return managers(live).some((m) => m.manager === FIELD_MANAGER);
  return live.metadata.labels?.[MANAGED_BY_LABEL] === FIELD_MANAGER;
}

interface ManagedFieldsEntry {
  manager: string;
  operation?: string;
  fieldsV1?: unknown;
}

function managers(live: KubeObject): ManagedFieldsEntry[] {
  return (live.metadata.managedFields ?? []).filter(isRecord).flatMap((e) =>
    (typeof e.manager === "string" ? [{ manager: e.manager, operation: typeof e.operation === "string" ? e.operation : undefined, fieldsV1: e.fieldsV1 }] : []));
}

/**
 * The part of an object that is compared: the labels and annotations the model writes and the
 * spec. For the live side, keys the desired side does not have are dropped where the desired
 * side only says "at least these" (metadata maps; Calico specs, whose defaults are not known).
 */
export interface ComparedViews {
  desired: Json;
  live: Json;
}

export function comparedViews(desired: DesiredObject, live: KubeObject): ComparedViews {
  const d = desired.object;
  const meta = (m: Json | undefined, keysFrom: Json): Json => {
    const out: Json = {};
    for (const field of ["labels", "annotations"]) {
      const want = isRecord(keysFrom[field]) ? (keysFrom[field] as Json) : undefined;
      if (want === undefined) continue;
      const have = m !== undefined && isRecord(m[field]) ? (m[field] as Json) : {};
      out[field] = Object.fromEntries(Object.keys(want).map((k) => [k, have[k] ?? null]));
    }
    return out;
  };
  const desiredView: Json = {};
  const liveView: Json = {};
  const dm = meta(d.metadata as Json, d.metadata as Json);
  if (Object.keys(dm).length > 0) {
    desiredView.metadata = dm;
    liveView.metadata = meta(live.metadata, d.metadata as Json);
  }
  if (d.spec !== undefined) {
    desiredView.spec = d.spec;
    const exact = d.apiVersion === "networking.k8s.io/v1";
    liveView.spec = exact ? (live.spec ?? null) : project(asServerStores(live.spec), d.spec);
  }
  return { desired: desiredView, live: liveView };
}

/** `live` reduced to the object keys `shape` has, recursively (arrays element by element). */
function project(live: unknown, shape: unknown): unknown {
  if (isRecord(live) && isRecord(shape)) {
    return Object.fromEntries(Object.keys(shape).filter((k) => k in live).map((k) => [k, project(live[k], shape[k])]));
  }
  if (Array.isArray(live) && Array.isArray(shape)) return live.map((item, i) => (i < shape.length ? project(item, shape[i]) : item));
  return live;
}

/** YAML with sorted keys: stable whatever order the API server returns fields in. */
export function yamlOf(value: unknown): string {
  return stringify(value, { sortMapEntries: true });
}

export interface Comparison {
  inSync: boolean;
  /** Each differing field as `path: desired → live` (what a refresh reports as drift). */
  fields: string[];
  /** Line diff from the live view to the desired view (what apply changes). */
  lines: DiffLine[];
  /** Field managers other than ours that own fields of the object (who edited it). */
  otherManagers: string[];
}

export function compare(desired: DesiredObject, live: KubeObject): Comparison {
  const views = comparedViews(desired, live);
  const before = yamlOf(views.live);
  const after = yamlOf(views.desired);
  const inSync = before === after;
  if (inSync) return { inSync, fields: [], lines: [], otherManagers: [] };
  const found = differences(views.desired, views.live);
  const others = managers(live).filter((m) => m.manager !== FIELD_MANAGER);
  // Who owns a differing field, whatever its operation (an edit, or another server-side apply);
  // a field someone removed has no owner left: then whoever updated what is compared.
  let owners = others.filter((m) => found.some((d) => ownsPath(m.fieldsV1, d.path)));
  if (owners.length === 0) owners = others.filter((m) => m.operation === "Update" && touchesCompared(m.fieldsV1, desired));
  return {
    inSync,
    fields: found.map(describeDifference),
    lines: diffLines(before, after),
    otherManagers: [...new Set(owners.map((m) => m.manager))].sort(),
  };
}

/** Whether a managedFields `fieldsV1` tree owns the field at `path` (or a part of it). */
export function ownsPath(fieldsV1: unknown, path: readonly (string | number)[]): boolean {
  let node = fieldsV1;
  for (const segment of path) {
    if (!isRecord(node)) return false;
    const children = Object.keys(node).filter((k) => k !== ".");
    // A leaf owns everything below it (an atomic list or map, or a scalar).
    if (node !== fieldsV1 && children.length === 0) return true;
    // An element of an associative list: its key is not the index; owning an element is enough.
    if (typeof segment === "number") return children.some((k) => /^[kvi]:/.test(k));
    node = node[`f:${segment}`];
    if (node === undefined) return false;
  }
  return true;
}

function format(v: unknown): string {
  const text = JSON.stringify(v) ?? "(none)";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One field where the compared views differ. */
export interface Difference {
  /** Keys and list indices from the object's root, e.g. `["spec", "ingress", 0, "ports"]`. */
  path: (string | number)[];
  desired: unknown;
  live: unknown;
}

/**
 * Where two compared views differ: lists must match in length and element by element; a key on
 * either side only is a difference.
 */
export function differences(desired: unknown, live: unknown, path: (string | number)[] = []): Difference[] {
  const here = () => [{ path, desired, live }];
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return here();
    return desired.flatMap((d, i) => differences(d, live[i], [...path, i]));
  }
  if (isRecord(desired)) {
    if (!isRecord(live)) return here();
    const keys = [...new Set([...Object.keys(desired), ...Object.keys(live)])].filter((k) => desired[k] !== undefined || live[k] !== undefined).sort();
    return keys.flatMap((k) => differences(desired[k], live[k], [...path, k]));
  }
  return desired === live || (desired === undefined && live === null) || (desired === null && live === undefined) ? [] : here();
}

/** `spec.ingress[0].ports: desired → live` */
function describeDifference(d: Difference): string {
  const path = d.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
  return `${path}: ${format(d.desired)} → ${format(d.live)}`;
}

/** Each differing field as `path: desired → live`. */
export function fieldChanges(desired: unknown, live: unknown): string[] {
  return differences(desired, live).map(describeDifference);
}

/** Whether a managedFields entry owns part of what is compared (spec, or a label / annotation we write). */
function touchesCompared(fieldsV1: unknown, desired: DesiredObject): boolean {
  if (!isRecord(fieldsV1)) return false;
  if (desired.object.spec !== undefined && isRecord(fieldsV1["f:spec"])) return true;
  const meta = fieldsV1["f:metadata"];
  if (!isRecord(meta)) return false;
  return ["labels", "annotations"].some((field) => {
    const owned = meta[`f:${field}`];
    const want = (desired.object.metadata as Json)[field];
    return isRecord(owned) && isRecord(want) && Object.keys(want).some((k) => `f:${k}` in owned);
  });
}

/** The body that gives up the annotation of a Namespace: apply with none of our fields. */
export function releaseBody(desired: DesiredObject): ClusterObject {
  return { apiVersion: desired.object.apiVersion, kind: desired.object.kind, metadata: { name: desired.object.metadata.name } };
}
