/**
 * The cluster target: the model's objects in a Kubernetes API (NetworkPolicies, Calico v3 Profile
 * and GlobalNetworkPolicy, a Namespace's legacy isolation annotation), read and written object by
 * object with the Kubernetes client. What counts as ours and what is compared: see objects.ts.
 *
 * Every step first reads every object; apply writes only when that read found nothing to refuse
 * (an object of someone else's, a missing namespace, an unreadable object), so a cluster never
 * gets half of a policy set because of a conflict that was visible up front.
 */
import { DEFAULT_DENY_POLICY_NAME } from "../../convert/legacy-isolation";
import type { KubeClient, KubeObject } from "../../targets/kube/client";
import { ApiError, ClientInputError } from "../../targets/api-errors";
import { mapBounded } from "../../targets/pool";
import { diffLines, splitLines } from "../line-diff";
import { ApplyOptions, asError, ObjectOutcome, ObjectStatus, PlannedChange, Settled, Target, TargetReport } from "../target";
import { compare, comparedViews, DesiredObject, FIELD_MANAGER, isOurs, MANAGED_BY_LABEL, releaseBody, yamlOf } from "./objects";

export interface ClusterOptions {
  /** Server-side apply field manager. @default "pulumi-netpolicy" */
  fieldManager?: string;
  /**
   * When apply forces server-side apply (takes fields another manager owns): `ours`, only objects
   * that carry our label (a hand edit is taken back); `always`; `never` (a conflict fails with 409).
   * @default "ours"
   */
  forceConflicts?: "ours" | "always" | "never";
  /** Namespaces the model isolates (DefaultDeny): their isolation is written last, removed first. */
  isolatedNamespaces?: readonly string[];
}

/** What apply did to one object, and the object as the server returned it. */
export interface ClusterOutcome extends ObjectOutcome {
  live?: KubeObject;
}

/** Status of one object, with the live object and each differing field. */
export interface ClusterStatus extends ObjectStatus {
  live?: KubeObject;
  /** `path: desired → live` per differing field. */
  fields?: string[];
}

interface ReadObject {
  live?: KubeObject;
  ours: boolean;
}

/** A failure that concerns the whole cluster (credentials, TLS, unreachable), not one object. */
function clusterWide(e: Error): boolean {
  return e instanceof ApiError && (e.status === 401 || e.code !== undefined);
}

export const messageOf = (e: Error): string => (e instanceof ApiError || e instanceof ClientInputError ? e.message : `${e.name}: ${e.message}`);

export const NOT_OURS = `exists but is not managed by ${FIELD_MANAGER} (no label ${MANAGED_BY_LABEL}=${FIELD_MANAGER})`;
const noNamespaceText = (d: DesiredObject) => `namespace "${d.ref.name}" does not exist; netpol annotates namespaces but never creates them`;

export class ClusterTarget implements Target {
  readonly kind = "cluster" as const;

  /** `title`: how output names the cluster, e.g. `cluster: context "prod" of ~/.kube/config (https://…)`. */
  constructor(readonly title: string, readonly objects: readonly DesiredObject[], private readonly client: KubeClient, private readonly options: ClusterOptions = {}) {}

  private get fieldManager(): string {
    return this.options.fieldManager ?? FIELD_MANAGER;
  }

  private report<T>(items: Settled<T>[], extra: Partial<TargetReport<T>> = {}): TargetReport<T> {
    return { kind: this.kind, title: this.title, items, ...extra };
  }

  /** Reads every object; a cluster-wide failure fails every object with it. */
  private async readAll(): Promise<{ read: Settled<ReadObject>[]; wide?: Error }> {
    const settled = await mapBounded(this.objects, async (desired) => {
      const live = await this.client.get(desired.ref);
      return { live, ours: live !== undefined && isOurs(desired, live) };
    }, { concurrency: 8 });
    const wide = settled.find((r): r is { ok: false; error: Error } => !r.ok && clusterWide(r.error))?.error;
    const read = settled.map((s, i): Settled<ReadObject> => (wide ? this.failed(i, wide) : s.ok ? s : this.failed(i, s.error)));
    return { read, ...(wide ? { wide } : {}) };
  }

  private failed(i: number, error: Error): { ok: false; name: string; error: Error } {
    return { ok: false, name: this.objects[i].title, error };
  }

  /**
   * A cluster-wide failure: what was done before it, then every object not reached yet (`rest`,
   * indices in the order they were to be handled) failed with it.
   */
  private wideFailure<T>(wide: Error, done: Settled<T>[] = [], rest: readonly number[] = this.objects.map((_, i) => i)): TargetReport<T> {
    return this.report([...done, ...rest.map((i) => this.failed(i, wide))], { failure: messageOf(wide) });
  }

  /** Writes in an order that never opens a gap: allow policies first, namespace isolation last. */
  private isolationLast(): number[] {
    const isolated = new Set(this.options.isolatedNamespaces ?? []);
    const isIsolation = (d: DesiredObject) => d.annotationOnly || (d.ref.kind === "NetworkPolicy" && d.ref.name === DEFAULT_DENY_POLICY_NAME && isolated.has(d.ref.namespace ?? ""));
    const idx = this.objects.map((_, i) => i);
    return [...idx.filter((i) => !isIsolation(this.objects[i])), ...idx.filter((i) => isIsolation(this.objects[i]))];
  }

  /**
   * Per object: create (the whole object), update (the changed lines), none, or conflict (not
   * ours). Every object to be written is sent to the server as a dry run (`dryRun=All`), so what
   * the server would refuse (validation, admission, a missing namespace) fails the plan already.
   */
  async plan(): Promise<TargetReport<PlannedChange>> {
    const { read, wide } = await this.readAll();
    if (wide) return this.wideFailure(wide);
    const planned = read.map((r, i): Settled<PlannedChange> => {
      const d = this.objects[i];
      if (!r.ok) return r;
      const { live, ours } = r.value;
      if (live === undefined) {
        if (d.annotationOnly) return this.failed(i, new Error(`${d.title}: ${noNamespaceText(d)}`));
        const whole = comparedViews(d, { apiVersion: d.ref.apiVersion, kind: d.ref.kind, metadata: { name: d.ref.name } }).desired;
        return { ok: true, value: { name: d.title, change: "create", diff: diffLines([], splitLines(yamlOf(whole))) } };
      }
      const cmp = compare(d, live);
      if (!ours && !d.annotationOnly) return { ok: true, value: { name: d.title, change: "conflict", diff: cmp.lines, note: `${NOT_OURS}; apply refuses it (apply --adopt takes it over)` } };
      if (cmp.inSync) return { ok: true, value: { name: d.title, change: "none", diff: [] } };
      const drift = cmp.otherManagers.length > 0 ? { drift: { reason: `changed in the cluster: ${cmp.fields.join("; ")}`, by: cmp.otherManagers } } : {};
      return { ok: true, value: { name: d.title, change: "update", diff: cmp.lines, ...drift } };
    });
    const force = this.options.forceConflicts ?? "ours";
    const items = await mapBounded(planned, async (p, i): Promise<PlannedChange> => {
      if (!p.ok) throw p.error;
      const { change } = p.value;
      if (change !== "create" && change !== "update") return p.value;
      const ours = read[i].ok && (read[i] as { ok: true; value: ReadObject }).value.ours;
      try {
        await this.client.apply(this.objects[i].object, { fieldManager: this.fieldManager, force: force === "always" || (force === "ours" && ours), dryRun: true });
        return p.value;
      } catch (e) {
        const err = asError(e);
        // A user who may read but not write still gets the plan, without the server's check.
        if (err instanceof ApiError && err.status === 403) {
          return { ...p.value, warnings: [...(p.value.warnings ?? []), `the server's dry run was refused (${messageOf(err)}); apply needs that permission`] };
        }
        if (err instanceof ApiError && err.code === undefined && err.status !== 401) {
          throw new ApiError(`${err.message} (the server's dry run of the apply)`, { status: err.status, reason: err.reason, causes: err.causes, attempts: err.attempts });
        }
        throw err;
      }
    }, { concurrency: 8 });
    const wideDry = items.find((r): r is { ok: false; error: Error } => !r.ok && clusterWide(r.error))?.error;
    if (wideDry) return this.wideFailure(wideDry);
    return this.report(items.map((r, i) => (r.ok ? r : this.failed(i, r.error))));
  }

  /**
   * Server-side apply of every object that is missing or differs. An object of someone else's is
   * refused unless `adopt`; nothing is written when the read refused any object.
   */
  async apply(options: ApplyOptions = {}): Promise<TargetReport<ClusterOutcome>> {
    const { read, wide } = await this.readAll();
    if (wide) return this.wideFailure(wide);
    const refused: string[] = [];
    read.forEach((r, i) => {
      const d = this.objects[i];
      if (!r.ok) refused.push(messageOf(r.error));
      else if (r.value.live === undefined && d.annotationOnly) refused.push(`${d.title}: ${noNamespaceText(d)}`);
      else if (r.value.live !== undefined && !r.value.ours && !d.annotationOnly && !options.adopt) refused.push(`${d.title}: ${NOT_OURS}; rename the policy in the model, delete the object, or run apply --adopt to take it over`);
    });
    if (refused.length > 0) return this.report(read.map((r, i) => (r.ok ? this.failed(i, new Error(`${this.objects[i].title}: not written (see the refusals)`)) : r)), { refused });
    const items: Settled<ClusterOutcome>[] = [];
    const force = this.options.forceConflicts ?? "ours";
    const order = this.isolationLast();
    for (const i of order) {
      const d = this.objects[i];
      const { live, ours } = (read[i] as { ok: true; value: ReadObject }).value;
      if (live !== undefined && (ours || d.annotationOnly) && compare(d, live).inSync && options.force !== true) {
        items.push({ ok: true, value: { name: d.title, outcome: "up to date", changed: false, live } });
        continue;
      }
      const adopting = live !== undefined && !ours && !d.annotationOnly;
      const forced = force === "always" || (force === "ours" && (ours || adopting));
      try {
        const written = await this.takeBack(d, await this.client.apply(d.object, { fieldManager: this.fieldManager, force: forced }), forced);
        items.push({ ok: true, value: { name: d.title, outcome: live === undefined ? "created" : adopting ? "adopted" : "updated", changed: true, live: written } });
      } catch (e) {
        const err = asError(e);
        if (clusterWide(err)) return this.wideFailure(err, items, order.slice(items.length));
        items.push(this.failed(i, err));
      }
    }
    return this.report(items);
  }

  /**
   * After a server-side apply the object may still differ: a field the model no longer sets stays
   * while another manager co-owns it (their own apply of the same value). When forcing is allowed
   * the object is then replaced with our spec (optimistic concurrency on the applied version),
   * which removes the field from every manager; otherwise the object fails, naming the managers.
   */
  private async takeBack(d: DesiredObject, written: KubeObject, forced: boolean): Promise<KubeObject> {
    if (d.annotationOnly) return written;
    const left = compare(d, written);
    if (left.inSync) return written;
    if (!forced) {
      throw new Error(`${d.title}: applied, but ${left.fields.join("; ")} stays because ${left.otherManagers.map((m) => `"${m}"`).join(", ") || "another field manager"} also owns it; set force to take it back`);
    }
    const { managedFields: _kept, ...metadata } = written.metadata;
    const labels = { ...(metadata.labels ?? {}), ...((d.object.metadata as { labels?: Record<string, string> }).labels ?? {}) };
    const annotations = { ...(metadata.annotations ?? {}), ...((d.object.metadata as { annotations?: Record<string, string> }).annotations ?? {}) };
    return this.client.replace(
      { ...written, metadata: { ...metadata, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) }, spec: d.object.spec },
      { fieldManager: this.fieldManager },
    );
  }

  /** Deletes the objects of ours (404 = already gone); others stay. An annotation is given up. */
  async destroy(): Promise<TargetReport<ObjectOutcome>> {
    const { read, wide } = await this.readAll();
    if (wide) return this.wideFailure(wide);
    const items: Settled<ObjectOutcome>[] = [];
    const order = [...this.isolationLast()].reverse();
    for (const i of order) {
      const d = this.objects[i];
      const r = read[i];
      if (!r.ok) { items.push(r); continue; }
      const { live, ours } = r.value;
      const done = (outcome: string, changed: boolean) => { items.push({ ok: true, value: { name: d.title, outcome, changed } }); };
      if (live === undefined) { done(d.annotationOnly ? "nothing to remove (no such namespace)" : "already gone", false); continue; }
      if (!ours) { done(`left in place — ${d.annotationOnly ? `the annotation is not managed by ${FIELD_MANAGER}` : NOT_OURS}`, false); continue; }
      try {
        if (d.annotationOnly) {
          await this.client.apply(releaseBody(d), { fieldManager: this.fieldManager });
          done("annotation removed (the namespace stays)", true);
        } else {
          done((await this.client.delete(d.ref)) === "deleted" ? "deleted" : "already gone", true);
        }
      } catch (e) {
        const err = asError(e);
        if (clusterWide(err)) return this.wideFailure(err, items, order.slice(items.length));
        items.push(this.failed(i, err));
      }
    }
    return this.report(items);
  }

  /** Per object: in sync, missing, drift (changed by another field manager), out of date, not ours. */
  async status(): Promise<TargetReport<ClusterStatus>> {
    const { read, wide } = await this.readAll();
    if (wide) return this.wideFailure(wide);
    const items = read.map((r, i): Settled<ClusterStatus> => {
      const d = this.objects[i];
      if (!r.ok) return r;
      const { live, ours } = r.value;
      const name = d.title;
      if (live === undefined) return { ok: true, value: { name, state: "missing", detail: d.annotationOnly ? noNamespaceText(d) : "not in the cluster; run apply" } };
      if (!ours && !d.annotationOnly) return { ok: true, value: { name, state: "not ours", detail: `an object of this name ${NOT_OURS.replace(/^exists but /, "")}`, live } };
      const cmp = compare(d, live);
      if (cmp.inSync) return { ok: true, value: { name, state: "in sync", live } };
      const reason = `changed in the cluster: ${cmp.fields.join("; ")}`;
      if (cmp.otherManagers.length > 0) {
        return { ok: true, value: { name, state: "drift", detail: `changed by ${cmp.otherManagers.map((m) => `"${m}"`).join(", ")}; run apply to repair ("netpol plan" shows the lines)`, drift: { reason, by: cmp.otherManagers }, live, fields: cmp.fields } };
      }
      return { ok: true, value: { name, state: "out of date", detail: "the model changed since the last apply; run apply", drift: { reason }, live, fields: cmp.fields } };
    });
    return this.report(items);
  }
}
