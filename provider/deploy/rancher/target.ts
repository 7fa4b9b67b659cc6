/**
 * The Rancher target: a network's `defaultPolicyAction` and `policy` written to a Rancher 1.x
 * network (`PUT /v2-beta/projects/{project}/networks/{network}`), read back for drift, and on
 * destroy put back as it was before the first write (the previous policy travels in the record
 * the last apply returned). Every other field of the Rancher network is left as Rancher has it.
 */
import * as rancher from "../../targets/rancher/client";
import type { RancherNetworkResource, RancherNetworkPolicy, RancherNetworkTarget } from "../../targets/rancher/client";
import { fieldChanges } from "../cluster/objects";
import { ApplyOptions, asError, ObjectOutcome, ObjectStatus, PlannedChange, Settled, Target, TargetReport } from "../target";
import { diffLines, splitLines } from "../line-diff";
import { stringify } from "yaml";

/** What the last write left on the Rancher network. No secrets. */
export interface RancherApplied {
  url: string;
  project: string;
  network: string;
  /** What was written. */
  defaultPolicyAction: "allow" | "deny";
  policy: unknown[];
  /** The network's policy before the first write; destroy restores it. */
  previous: { defaultPolicyAction: "allow" | "deny"; policy: unknown[] };
  /** Set by a refresh that found the network's policy changed or gone. */
  drift?: string;
}

export interface RancherOutcome extends ObjectOutcome {
  applied: RancherApplied;
}

export interface RancherStatus extends ObjectStatus {
  /** The record, with `drift` set or cleared. */
  applied?: RancherApplied;
}

/** The same Rancher network (a change of server, project or network is a move, not an update). */
export function sameRancherNetwork(a: Pick<RancherApplied, "url" | "project" | "network">, b: Pick<RancherNetworkTarget, "url" | "project" | "network">): boolean {
  return a.url.replace(/\/+$/, "") === b.url.replace(/\/+$/, "") && a.project === b.project && a.network === b.network;
}

function isApiError(e: unknown): e is Error & { causes: { field?: string }[] } {
  return e instanceof Error && e.name === "ApiError" && Array.isArray((e as { causes?: unknown }).causes);
}

/** `network NAME: rancher: STEP failed: CAUSE (input property: policy)`; Rancher's fieldName is an input name. */
export function rancherError(networkName: string, step: string, e: unknown): Error {
  const cause = e instanceof Error ? e.message : String(e);
  const fields = isApiError(e) ? [...new Set(e.causes.map((c) => c.field).filter((f): f is string => f !== undefined && f !== ""))] : [];
  const at = fields.length > 0 ? ` (input ${fields.length === 1 ? "property" : "properties"}: ${fields.join(", ")})` : "";
  return new Error(`network ${networkName}: rancher: ${step} failed: ${cause}${at}`);
}

function policyOf(network: RancherNetworkResource): RancherApplied["previous"] {
  return { defaultPolicyAction: network.defaultPolicyAction === "deny" ? "deny" : "allow", policy: Array.isArray(network.policy) ? network.policy : [] };
}

const yamlOf = (p: RancherNetworkPolicy) => splitLines(stringify(p, { sortMapEntries: true }));

export class RancherTarget implements Target {
  readonly kind = "rancher" as const;
  readonly title: string;
  private readonly where: string;

  /**
   * `desired`: what the model asks Rancher for; `before`: the record of the last write, when it
   * was to this same network (its `previous` is kept). Without one, the first write records the
   * network's policy as `previous`.
   */
  constructor(private readonly networkName: string, private readonly target: RancherNetworkTarget, readonly desired: RancherNetworkPolicy, private readonly before?: RancherApplied) {
    this.where = `${target.project}/${target.network}`;
    this.title = `rancher: network ${this.where}`;
  }

  private one<T>(value: T): TargetReport<T> {
    return { kind: this.kind, title: this.title, items: [{ ok: true, value }] };
  }

  private failed<T>(error: unknown): TargetReport<T> {
    const item: Settled<T> = { ok: false, name: this.where, error: asError(error) };
    return { kind: this.kind, title: this.title, items: [item] };
  }

  private async read(step: string): Promise<RancherNetworkResource | undefined> {
    try {
      return await rancher.getNetwork(this.target);
    } catch (e) {
      throw rancherError(this.networkName, `${step} network ${this.where}`, e);
    }
  }

  async plan(): Promise<TargetReport<PlannedChange>> {
    try {
      const live = await this.read("reading");
      if (!live) return this.failed(new Error(`network ${this.networkName}: rancher: network ${this.where} not found at ${this.target.url} (404); check the project and network ids`));
      const diff = diffLines(yamlOf(policyOf(live)), yamlOf(this.desired));
      return this.one({ name: this.where, change: diff.some((l) => l.op !== " ") ? "update" : "none", diff });
    } catch (e) {
      return this.failed(e);
    }
  }

  async apply(_options: ApplyOptions = {}): Promise<TargetReport<RancherOutcome>> {
    try {
      let previous = this.before?.previous;
      if (previous === undefined) {
        const current = await this.read("reading");
        if (!current) throw new Error(`network ${this.networkName}: rancher: network ${this.where} not found at ${this.target.url} (404); check the project and network ids`);
        previous = policyOf(current);
      }
      try {
        await rancher.putNetwork(this.target, this.desired);
      } catch (e) {
        throw rancherError(this.networkName, `writing network ${this.where}`, e);
      }
      const applied: RancherApplied = { url: this.target.url, project: this.target.project, network: this.target.network, ...this.desired, previous };
      return this.one({ name: this.where, outcome: "applied", changed: true, applied });
    } catch (e) {
      return this.failed(e);
    }
  }

  /** Reads the network back: drift when its policy is not what the last write (`before`) left. */
  async status(): Promise<TargetReport<RancherStatus>> {
    try {
      const live = await this.read("reading");
      const written = this.before ? { defaultPolicyAction: this.before.defaultPolicyAction, policy: this.before.policy } : this.desired;
      const { drift: _old, ...rest } = this.before ?? ({} as Partial<RancherApplied>);
      const record = (drift?: string) => (this.before ? { applied: { ...(rest as RancherApplied), ...(drift ? { drift } : {}) } } : {});
      if (!live) return this.one({ name: this.where, state: "missing", detail: "the network is gone from Rancher", ...record("the network is gone from Rancher") });
      const lines = fieldChanges(written, policyOf(live));
      if (lines.length === 0) return this.one({ name: this.where, state: "in sync", ...record() });
      const reason = `changed in Rancher: ${lines.join("; ")}`;
      return this.one({ name: this.where, state: "drift", detail: reason, drift: { reason }, ...record(reason) });
    } catch (e) {
      return this.failed(e);
    }
  }

  /** Puts the network back as it was before the first write. A network that is gone needs nothing. */
  async destroy(): Promise<TargetReport<ObjectOutcome>> {
    const previous = this.before?.previous ?? { defaultPolicyAction: "allow" as const, policy: [] };
    try {
      const live = await rancher.getNetwork(this.target);
      if (!live) return this.one({ name: this.where, outcome: "nothing to restore (the network is gone)", changed: false });
      await rancher.putNetwork(this.target, previous);
      return this.one({ name: this.where, outcome: "restored", changed: true });
    } catch (e) {
      return this.failed(rancherError(this.networkName, `restoring network ${this.where}`, e));
    }
  }
}
