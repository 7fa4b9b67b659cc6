/**
 * The cluster half of `netpol plan / apply / destroy / status`: the model's `cluster:` target
 * (kubeconfig path relative to the model file, context), read and written object by object with
 * the Kubernetes client. What counts as ours and what is compared: see cluster-objects.ts.
 *
 * Every step first reads every object; apply writes only when that read found nothing to refuse
 * (an object of someone else's, a missing namespace, an unreadable object), so a cluster never
 * gets half of a policy set because of a conflict that was visible up front.
 */
import * as path from "node:path";
import { DEFAULT_DENY_POLICY_NAME } from "../convert/legacy-isolation";
import { KubeClient, KubeObject } from "../targets/kube/client";
import { ApiError, InputError as KubeInputError } from "../targets/api-errors";
import { InputError } from "../model/errors";
import { Model } from "../model/model";
import { mapHosts, Settled } from "../targets/ssh/pool";
import { compare, Comparison, DesiredObject, desiredObjects, FIELD_MANAGER, isOurs, MANAGED_BY_LABEL, releaseBody, yamlOf, comparedViews } from "./cluster-objects";
import { countChanges, formatDiff } from "./line-diff";

export interface PreparedCluster {
  client: KubeClient;
  /** `context "prod" of kubeconfig /home/u/.kube/config (https://10.0.0.1:6443)` */
  title: string;
  objects: DesiredObject[];
}

/** What one step did on the cluster: lines for stdout, failures for the summary on stderr. */
export interface ClusterReport {
  lines: string[];
  failures: string[];
  /** Objects written (apply, destroy) or not in sync (status). */
  count: number;
}

/**
 * Validates the cluster target: kubeconfig (read and resolved, nothing sent) and every object.
 * Errors are InputErrors naming the model file and the kubeconfig or object.
 */
export async function prepareCluster(model: Model, file: string, cwd: string, env: Record<string, string | undefined>): Promise<PreparedCluster> {
  const target = model.cluster ?? {};
  const baseDir = path.dirname(path.resolve(cwd, file));
  const objects = desiredObjects(model, file);
  let client: KubeClient;
  try {
    client = await KubeClient.connect({
      ...(target.kubeconfig !== undefined ? { path: path.resolve(baseDir, target.kubeconfig) } : {}),
      ...(target.context !== undefined ? { context: target.context } : {}),
      env,
      maxAttempts: 3,
      timeoutMs: 20_000,
    });
  } catch (e) {
    if (e instanceof KubeInputError) throw new InputError(file, [{ path: target.kubeconfig !== undefined ? "cluster.kubeconfig" : "cluster", message: e.message }]);
    throw e;
  }
  const c = client.connection;
  return { client, objects, title: `cluster: context "${c.context}" of ${c.source} (${c.server})` };
}

interface ReadObject {
  desired: DesiredObject;
  live?: KubeObject;
  ours: boolean;
}

/** A failure that concerns the whole cluster (credentials, TLS, unreachable), not one object. */
function clusterWide(e: Error): boolean {
  return e instanceof ApiError && (e.status === 401 || e.code !== undefined);
}

const messageOf = (e: Error): string => (e instanceof ApiError || e instanceof KubeInputError ? e.message : `${e.name}: ${e.message}`);

async function readAll(cluster: PreparedCluster): Promise<{ read: Settled<ReadObject>[]; wide?: string }> {
  const read = await mapHosts(cluster.objects, async (desired) => {
    const live = await cluster.client.get(desired.ref);
    return { desired, live, ours: live !== undefined && isOurs(desired, live) };
  }, { concurrency: 8 });
  const wide = read.find((r): r is { ok: false; error: Error } => !r.ok && clusterWide(r.error));
  return { read, ...(wide ? { wide: messageOf(wide.error) } : {}) };
}

const NOT_OURS = `exists but is not managed by ${FIELD_MANAGER} (no label ${MANAGED_BY_LABEL}=${FIELD_MANAGER})`;
const noNamespaceText = (d: DesiredObject) => `namespace "${d.ref.name}" does not exist; netpol annotates namespaces but never creates them`;

function wideReport(cluster: PreparedCluster, message: string, lines: string[] = []): ClusterReport {
  return { lines: [cluster.title, ...lines, "  FAILED: the cluster cannot be used (see below)"], failures: [`${cluster.title}: ${message}`], count: 0 };
}

/** `plan`: per object create / update (with the lines) / up to date; conflicts count as failures. */
export async function planCluster(cluster: PreparedCluster, opts: { diff: boolean }): Promise<ClusterReport> {
  const { read, wide } = await readAll(cluster);
  if (wide) return wideReport(cluster, wide);
  const lines = [cluster.title];
  const failures: string[] = [];
  let changes = 0;
  read.forEach((r, i) => {
    const d = cluster.objects[i];
    if (!r.ok) { failures.push(messageOf(r.error)); lines.push(`  ${d.title}: cannot read: ${r.error.message}`); return; }
    const { live, ours } = r.value;
    if (live === undefined) {
      if (d.annotationOnly) { failures.push(`${d.title}: ${noNamespaceText(d)}`); lines.push(`  ${d.title}: ${noNamespaceText(d)}`); return; }
      changes++;
      lines.push(`  ${d.title}: create`);
      if (opts.diff) for (const l of yamlOf(comparedViewsOfNew(d)).trimEnd().split("\n")) lines.push(`      + ${l}`);
      return;
    }
    const cmp = compare(d, live);
    if (!ours && !d.annotationOnly) {
      failures.push(`${d.title}: ${NOT_OURS}; apply refuses it (apply --adopt takes it over)`);
      lines.push(`  ${d.title}: conflict — ${NOT_OURS}; apply refuses it (apply --adopt takes it over)`);
      if (!cmp.inSync) lines.push(...diffText(cmp));
      return;
    }
    if (cmp.inSync) { lines.push(`  ${d.title}: up to date`); return; }
    changes++;
    const n = countChanges(cmp.lines);
    lines.push(`  ${d.title}: update — ${n.added} line(s) added, ${n.removed} removed${cmp.otherManagers.length > 0 ? ` (edited by ${cmp.otherManagers.join(", ")})` : ""}`);
    lines.push(...diffText(cmp));
  });
  return { lines, failures, count: changes };
}

function comparedViewsOfNew(d: DesiredObject): unknown {
  return comparedViews(d, { apiVersion: d.ref.apiVersion, kind: d.ref.kind, metadata: { name: d.ref.name } }).desired;
}

function diffText(cmp: Comparison): string[] {
  return formatDiff(cmp.lines).map((l) => `      ${l}`);
}

/** Writes in an order that never opens a gap: allow policies first, namespace isolation last. */
function isolationLast(objects: DesiredObject[], model: Model): number[] {
  const isolated = new Set((model.namespaces ?? []).filter((n) => n.isolation === "DefaultDeny").map((n) => n.name));
  const isIsolation = (d: DesiredObject) => d.annotationOnly || (d.ref.kind === "NetworkPolicy" && d.ref.name === DEFAULT_DENY_POLICY_NAME && isolated.has(d.ref.namespace ?? ""));
  const idx = objects.map((_, i) => i);
  return [...idx.filter((i) => !isIsolation(objects[i])), ...idx.filter((i) => isIsolation(objects[i]))];
}

/**
 * `apply`: server-side apply (field manager pulumi-netpolicy) of every object that is missing or
 * differs. Objects of ours are applied with force, so fields edited by hand are taken back; an
 * object of someone else's is refused unless `adopt`. Nothing is written when the read refused any.
 */
export async function applyCluster(cluster: PreparedCluster, model: Model, opts: { adopt: boolean }): Promise<ClusterReport> {
  const { read, wide } = await readAll(cluster);
  if (wide) return wideReport(cluster, wide);
  const refused: string[] = [];
  read.forEach((r, i) => {
    const d = cluster.objects[i];
    if (!r.ok) refused.push(messageOf(r.error));
    else if (r.value.live === undefined && d.annotationOnly) refused.push(`${d.title}: ${noNamespaceText(d)}`);
    else if (r.value.live !== undefined && !r.value.ours && !d.annotationOnly && !opts.adopt) refused.push(`${d.title}: ${NOT_OURS}; rename the policy in the model, delete the object, or run apply --adopt to take it over`);
  });
  if (refused.length > 0) {
    return { lines: [cluster.title, `  nothing written: ${refused.length} object(s) refused (see below)`], failures: refused, count: 0 };
  }
  const lines = [cluster.title];
  const failures: string[] = [];
  let changed = 0;
  for (const i of isolationLast(cluster.objects, model)) {
    const d = cluster.objects[i];
    const { live, ours } = (read[i] as { ok: true; value: ReadObject }).value;
    if (live !== undefined && (ours || d.annotationOnly) && compare(d, live).inSync) { lines.push(`  ${d.title}: up to date`); continue; }
    try {
      await cluster.client.apply(d.object, { fieldManager: FIELD_MANAGER, force: ours || (opts.adopt && !d.annotationOnly) });
      changed++;
      lines.push(`  ${d.title}: ${live === undefined ? "created" : !ours && !d.annotationOnly ? "adopted" : "updated"}`);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (clusterWide(err)) return wideReport(cluster, messageOf(err), lines.slice(1));
      failures.push(messageOf(err));
      lines.push(`  ${d.title}: FAILED`);
    }
  }
  return { lines, failures, count: changed };
}

/** `destroy`: deletes the objects of ours the model names (404 = already gone); others stay. */
export async function destroyCluster(cluster: PreparedCluster, model: Model): Promise<ClusterReport> {
  const { read, wide } = await readAll(cluster);
  if (wide) return wideReport(cluster, wide);
  const lines = [cluster.title];
  const failures: string[] = [];
  let removed = 0;
  for (const i of [...isolationLast(cluster.objects, model)].reverse()) {
    const d = cluster.objects[i];
    const r = read[i];
    if (!r.ok) { failures.push(messageOf(r.error)); lines.push(`  ${d.title}: FAILED`); continue; }
    const { live, ours } = r.value;
    if (live === undefined) { lines.push(`  ${d.title}: ${d.annotationOnly ? "nothing to remove (no such namespace)" : "already gone"}`); continue; }
    if (!ours) {
      lines.push(`  ${d.title}: left in place — ${d.annotationOnly ? `the annotation is not managed by ${FIELD_MANAGER}` : NOT_OURS}`);
      continue;
    }
    try {
      if (d.annotationOnly) {
        await cluster.client.apply(releaseBody(d), { fieldManager: FIELD_MANAGER });
        lines.push(`  ${d.title}: annotation removed (the namespace stays)`);
      } else {
        const gone = await cluster.client.delete(d.ref);
        lines.push(`  ${d.title}: ${gone === "deleted" ? "deleted" : "already gone"}`);
      }
      removed++;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (clusterWide(err)) return wideReport(cluster, messageOf(err), lines.slice(1));
      failures.push(messageOf(err));
      lines.push(`  ${d.title}: FAILED`);
    }
  }
  return { lines, failures, count: removed };
}

/** `status`: per object in sync / missing / drift (edited by another manager) / out of date. */
export async function statusCluster(cluster: PreparedCluster): Promise<ClusterReport> {
  const { read, wide } = await readAll(cluster);
  if (wide) return wideReport(cluster, wide);
  const lines = [cluster.title];
  const failures: string[] = [];
  let bad = 0;
  read.forEach((r, i) => {
    const d = cluster.objects[i];
    if (!r.ok) { bad++; failures.push(messageOf(r.error)); lines.push(`  ${d.title}: cannot read: ${r.error.message}`); return; }
    const { live, ours } = r.value;
    let text: string;
    if (live === undefined) text = d.annotationOnly ? `missing: ${noNamespaceText(d)}` : "missing: not in the cluster; run apply";
    else if (!ours && !d.annotationOnly) text = `not managed by ${FIELD_MANAGER}: an object of this name ${NOT_OURS.replace(/^exists but /, "")}`;
    else {
      const cmp = compare(d, live);
      if (cmp.inSync) text = "in sync";
      else if (cmp.otherManagers.length > 0) text = `drift: changed by ${cmp.otherManagers.map((m) => `"${m}"`).join(", ")}; run apply to repair ("netpol plan" shows the lines)`;
      else text = "out of date: the model changed since the last apply; run apply";
    }
    if (text !== "in sync") bad++;
    lines.push(`  ${d.title}: ${text}`);
  });
  return { lines, failures, count: bad };
}
