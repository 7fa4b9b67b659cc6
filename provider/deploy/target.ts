/**
 * The one interface every place that enforces a model implements: the hosts (SSH: nftables,
 * iptables), a cluster (Kubernetes objects), a Rancher network. A target is built for one model
 * (its desired state is fixed when it is made); each method reads what is live first, then says
 * or does what it must, object by object. Both doors (the `netpol` CLI and the Pulumi providers)
 * only format what these methods return.
 *
 * A new target (a cloud security-group API, say) is one folder implementing `Target`, plus a line
 * in registry.ts.
 */
import { DiffLine } from "./line-diff";
import type { SshSession } from "../targets/ssh/session";

/** The places a model can be enforced. */
export type TargetKind = "hosts" | "cluster" | "rancher";

/** How one object stands against the model. */
export type SyncState =
  /** Carries what the model gives, unchanged since the last apply. */
  | "in sync"
  /** Not there: never applied, or removed. */
  | "missing"
  /** Carries an earlier version: the model changed since the last apply. */
  | "out of date"
  /** Changed by someone else since the last apply (a hand edit, another field manager). */
  | "drift"
  /** An object of that name exists that this project does not manage. */
  | "not ours";

/** A change someone else made. */
export interface Drift {
  /** One line: what differs. */
  reason: string;
  /** Who made it, where the target can tell (cluster field managers). */
  by?: string[];
}

/** What a plan says about one object. */
export interface PlannedChange {
  /** How output names the object: `h1`, `networking.k8s.io/v1 NetworkPolicy default/web`. */
  name: string;
  /** What apply would do. A conflict is an object apply refuses (not ours). */
  change: "create" | "update" | "none" | "conflict";
  /** What would change, from what is there (or was last applied) to what the model gives. */
  diff: DiffLine[];
  /** Why the object is not as the last apply left it, when it is not. */
  drift?: Drift;
  /** What keeps the object's rules from holding although they are in place. */
  warnings?: string[];
  /** A sentence about the change, where the kind of change alone does not say it. */
  note?: string;
}

/** What status says about one object. */
export interface ObjectStatus {
  name: string;
  state: SyncState;
  /** The rest of the story, in one line: what differs and what to run. */
  detail?: string;
  drift?: Drift;
  warnings?: string[];
}

/** What apply or destroy did to one object. */
export interface ObjectOutcome {
  name: string;
  /** `applied`, `up to date`, `created`, `updated`, `adopted`, `removed`, `nothing to remove`, … */
  outcome: string;
  /** True when something was written. */
  changed: boolean;
  warnings?: string[];
}

/** One object's answer, or why there is none. */
export type Settled<T> = { ok: true; value: T } | { ok: false; name: string; error: Error };

/** What one call did on one target. */
export interface TargetReport<T> {
  kind: TargetKind;
  /** How output names the target: `hosts`, `cluster: context "prod" of … (https://…)`. */
  title: string;
  items: Settled<T>[];
  /** The whole target failed (credentials, TLS, unreachable): items then say what was done before. */
  failure?: string;
  /** Apply refused the whole target before writing anything (one line per object refused). */
  refused?: string[];
}

export interface ApplyOptions {
  /** Seconds before an unconfirmed host apply restores itself. @default 20 */
  rollbackTimerSec?: number;
  /** Objects handled at once. @default 16 */
  concurrency?: number;
  /** Rewrite even what already matches; `true` for every object, or the names to rewrite. @default false */
  force?: boolean | ReadonlySet<string>;
  /** Take over cluster objects of the same name that this project did not create. @default false */
  adopt?: boolean;
  /** Hosts: an open SSH connection to run a host's apply on (watch's event stream), if any. @default a new connection per apply */
  hostSession?: (host: string) => SshSession | undefined;
}

export interface Target {
  readonly kind: TargetKind;
  readonly title: string;
  plan(): Promise<TargetReport<PlannedChange>>;
  apply(options?: ApplyOptions): Promise<TargetReport<ObjectOutcome>>;
  status(): Promise<TargetReport<ObjectStatus>>;
  destroy(): Promise<TargetReport<ObjectOutcome>>;
}

/** Whether `force` names this object. */
export function forces(force: ApplyOptions["force"], name: string): boolean {
  return force === true || (force instanceof Set && force.has(name));
}

/** Any error as an Error. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
