/**
 * The hosts target: the model's rules in each host's packet filter, over SSH. Hosts are handled in
 * parallel (bounded); one that fails never stops the others, and keeps its previous rules.
 *
 * Every door applies through the same table lock and rollback timer on the host (keyed by the
 * table, not by the host's name: see targets/ssh/table-place.ts) and leaves the same record, so a
 * host applied by `pulumi up` is in sync for `netpol status`, and the other way round.
 */
import { mapBounded } from "../../targets/pool";
import type { SshTarget } from "../../targets/ssh/connect";
import { diffLines } from "../line-diff";
import { ApplyOptions, forces, ObjectOutcome, ObjectStatus, PlannedChange, Settled, Target, TargetReport } from "../target";
import { HostDriver, HostRecord, sshDriver } from "./driver";
import { DesiredHost } from "./rules";
import { hostSync, listingDrift } from "./sync";
import { dockerForwardWarnings } from "./docker-forward";
import { masqueradeWarnings } from "./masquerade";
import type { ReadReport } from "../../targets/ssh/read-report";
import type { HostReadResult } from "../../targets/ssh/apply-options";

/** How to reach one host of the model. */
export interface HostConnection {
  name: string;
  target: SshTarget;
}

/** What apply did on one host, with what the Pulumi outputs keep of it. */
export interface HostOutcome extends ObjectOutcome {
  backend: "nftables" | "iptables";
  table: string;
  /** The content hash the host's rules carry now. */
  hash: string;
  /** The host's listing after the apply. */
  liveText: string;
}

/** The plan of one host, with the policy its record says the last apply enforced. */
export interface HostPlan extends PlannedChange {
  /** encodePolicy text; absent when the host has no record of it. */
  lastPolicy?: string;
}

/** Status of one host, with the hash its rules carry (when they are there). */
export interface HostStatus extends ObjectStatus {
  hash?: string;
}

export class HostsTarget implements Target {
  readonly kind = "hosts" as const;
  readonly title = "hosts";
  private readonly connections: Map<string, SshTarget>;

  /** `hosts`: what each host must carry (desiredHosts); `connections`: how to reach each of them. */
  constructor(readonly hosts: readonly DesiredHost[], connections: readonly HostConnection[], private readonly driver: HostDriver = sshDriver, private readonly defaultConcurrency = 16) {
    this.connections = new Map(connections.map((c) => [c.name, c.target]));
    for (const h of hosts) if (!this.connections.has(h.name)) throw new Error(`host ${h.name}: no SSH settings to reach it`);
  }

  private ssh(h: DesiredHost): SshTarget {
    return this.connections.get(h.name) as SshTarget;
  }

  private async each<T>(fn: (h: DesiredHost) => Promise<T>, concurrency = this.defaultConcurrency): Promise<TargetReport<T>> {
    const settled = await mapBounded(this.hosts, fn, { concurrency });
    const items = settled.map((s, i): Settled<T> => (s.ok ? s : { ok: false, name: this.hosts[i].name, error: s.error }));
    return { kind: this.kind, title: this.title, items };
  }

  /** What a read of the host says beside the rules: its bridge warnings, then masquerade and Docker's FORWARD drop. */
  private warnings(h: DesiredHost, read: ReadReport): { warnings?: string[] } {
    const all = [...(read.warnings ?? []), ...masqueradeWarnings(h.name, read.nat, h.masquerade), ...dockerForwardWarnings(h.name, read.forward, h.masquerade)];
    return all.length > 0 ? { warnings: all } : {};
  }

  /** The host's rules and, read in the same command, its record (only counted while the rules are there). */
  private async readWithRecord(h: DesiredHost): Promise<{ live: HostReadResult; record?: HostRecord }> {
    const { record, ...live } = await this.driver.read(this.ssh(h), h.name, h.ruleset.backend, h.ruleset.table);
    return live.present && record ? { live, record } : { live };
  }

  plan(): Promise<TargetReport<HostPlan>> {
    return this.each(async (h): Promise<HostPlan> => {
      const { live, record } = await this.readWithRecord(h);
      const { warnings } = this.warnings(h, live);
      const drift = record && live.present ? listingDrift(record.live, live.text ?? "") : undefined;
      const lastPolicy = record?.policy !== undefined ? { lastPolicy: record.policy } : {};
      if (live.present && live.hash === h.ruleset.hash) {
        return { name: h.name, change: "none" as const, diff: [], ...(drift ? { drift, note: live.hookBehind !== undefined ? "apply puts the network's hook back in front" : "apply --force repairs it" } : {}), ...(warnings ? { warnings } : {}), ...lastPolicy };
      }
      const change = live.present ? ("update" as const) : ("create" as const);
      return { name: h.name, change, diff: diffLines(record?.rendered ?? "", h.text), ...(drift ? { drift } : {}), ...(warnings ? { warnings } : {}), ...lastPolicy };
    });
  }

  apply(options: ApplyOptions = {}): Promise<TargetReport<HostOutcome>> {
    return this.each(async (h) => {
      const target = this.ssh(h);
      const session = options.hostSession?.(h.name);
      const result = await this.driver.apply(target, h.ruleset, {
        ...(options.rollbackTimerSec !== undefined ? { rollbackTimerSec: options.rollbackTimerSec } : {}),
        force: forces(options.force, h.name),
        ...(h.policy !== undefined ? { policy: h.policy } : {}),
        ...(session !== undefined ? { session } : {}),
      });
      return {
        name: h.name, outcome: result.changed ? "applied" : "up to date", changed: result.changed,
        backend: h.ruleset.backend, table: h.ruleset.table, hash: result.hash, liveText: result.liveText,
        ...this.warnings(h, result),
      };
    }, options.concurrency);
  }

  status(): Promise<TargetReport<HostStatus>> {
    return this.each(async (h) => {
      const { live, record } = await this.readWithRecord(h);
      const sync = hostSync(h.ruleset.hash, live, record);
      return { name: h.name, state: sync.state, ...(live.hash ? { hash: live.hash } : {}), ...(sync.reason ? { detail: sync.reason } : {}), ...(sync.drift ? { drift: sync.drift } : {}), ...this.warnings(h, live) };
    });
  }

  destroy(): Promise<TargetReport<ObjectOutcome>> {
    return this.each(async (h) => {
      const target = this.ssh(h);
      const r = await this.driver.delete(target, h.name, h.ruleset.backend, h.ruleset.table, {});
      return { name: h.name, outcome: r.deleted ? "removed" : "nothing to remove", changed: r.deleted, ...(r.warnings ? { warnings: r.warnings } : {}) };
    });
  }
}
