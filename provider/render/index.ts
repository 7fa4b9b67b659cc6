/**
 * PolicySet → one ruleset per host, for the SSH target. Pure and deterministic: the same policy
 * set gives the same bytes (and hash) for a host, whatever the order of its endpoints.
 *
 * Build a `Renderer` once per PolicySet when rendering many hosts: sets, chains and their text are
 * computed once and shared.
 */
import { createHash } from "node:crypto";
import { PolicySet } from "../ir";
import type { HostRuleset } from "../ruleset";
import { HostPrograms, RenderError } from "./host-program";
import { IptablesWriter } from "./iptables";
import { NftablesWriter } from "./nftables";

export { RenderError } from "./host-program";

/** The table (and, uppercased, iptables chain prefix) a network's rules live in on every host. */
export function tableName(network: string): string {
  return `netpol_${createHash("sha256").update(network).digest("hex").slice(0, 8)}`;
}

export class Renderer {
  private readonly programs: HostPrograms;
  private readonly nft = new NftablesWriter();
  private readonly ipt: IptablesWriter;
  readonly table: string;

  constructor(readonly policySet: PolicySet) {
    this.programs = new HostPrograms(policySet);
    this.table = tableName(policySet.network);
    this.ipt = new IptablesWriter(this.table);
  }

  /** The ruleset of one host, in the backend `policySet.hosts` names for it. */
  renderHost(host: string): HostRuleset {
    const program = this.programs.host(host);
    const base = { host, backend: program.host.backend, table: this.table };
    switch (program.host.backend) {
      case "nftables": {
        const { nft, hash } = this.nft.table(this.table, program);
        return { ...base, hash, nft };
      }
      case "iptables": {
        const { hash, ...iptables } = this.ipt.ruleset(program);
        return { ...base, hash, iptables };
      }
      default: {
        const never: never = program.host.backend;
        throw new RenderError(`host "${host}": unknown backend "${String(never)}"`);
      }
    }
  }

  /** Every host's ruleset, in `policySet.hosts` order. */
  renderAll(): HostRuleset[] {
    return this.policySet.hosts.map((h) => this.renderHost(h.name));
  }
}

export function renderHost(ps: PolicySet, host: string): HostRuleset {
  return new Renderer(ps).renderHost(host);
}

export function renderAll(ps: PolicySet): HostRuleset[] {
  return new Renderer(ps).renderAll();
}
