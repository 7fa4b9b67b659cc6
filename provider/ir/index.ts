/**
 * The intermediate representation every dialect compiles into, and the analysis and renderers
 * read. Plain data (JSON-serializable), deterministic, with content-derived ids.
 *
 * Semantics (ARCHITECTURE.md): a connection A → B is allowed iff every layer allows it. In a layer, A's
 * egress program and B's ingress program must both allow. A program is an ordered list of tiers;
 * a tier is an ordered list of rules, first match wins: `allow` ends the program allowing, `deny`
 * ends it denying, `pass` skips to the next tier, `log` records and goes on. Falling off a tier
 * takes the tier's `end`: `allow`, `deny`, or `next` (the next tier). The last tier never ends in
 * `next`; `pass` in the last tier acts like falling off it. An endpoint with no program in a layer and direction is not governed there: allowed.
 * Established and related return traffic is always allowed.
 */

export type Verdict = "allow" | "deny";
export type Action = "allow" | "deny" | "pass" | "log";
export type Direction = "ingress" | "egress";
export type LayerName = "rancher" | "calico" | "kubernetes";

/** IANA protocol numbers used by the dialects. */
export const PROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, udplite: 136 } as const;

/**
 * Addresses a rule can test. `endpoints`: the addresses of these endpoints (sorted names);
 * `nets`: disjoint CIDRs (an ipBlock's `except` already subtracted), sorted.
 */
export type AddressSet =
  | { kind: "endpoints"; members: string[] }
  | { kind: "nets"; nets: string[] };

/** A test of the packet's source or destination address against a set. */
export interface AddressMatch {
  set: string;
  negate?: boolean;
}

/** Inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

/** Sorts and merges overlapping or adjacent ranges (nft refuses overlapping set intervals). */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}

/** Every present field must hold (AND); an absent field matches anything. */
export interface Match {
  /** Conditions on the source address (all must hold). */
  src?: AddressMatch[];
  /** Conditions on the destination address (all must hold). */
  dst?: AddressMatch[];
  /** IANA protocol number. */
  protocol?: number;
  notProtocol?: number;
  dstPorts?: PortRange[];
  notDstPorts?: PortRange[];
  srcPorts?: PortRange[];
  notSrcPorts?: PortRange[];
  icmpType?: number;
  notIcmpType?: number;
  icmpCode?: number;
  notIcmpCode?: number;
  ipVersion?: 4 | 6;
}

export interface Rule {
  match: Match;
  action: Action;
  /** Where the rule came from in the user's input, e.g. `networkPolicies[2].spec.ingress[0].from[1]`. */
  origin: string;
}

export interface Tier {
  /** Shown in explanations: "rancher policy", "calico policies", "profile WEB", … */
  name: string;
  rules: Rule[];
  end: Verdict | "next";
  /** What decided when no rule matched, e.g. `network.defaultPolicyAction`. */
  endOrigin: string;
}

export interface Program {
  tiers: Tier[];
}

export interface Layer {
  name: LayerName;
  /** Endpoint name → program id; an endpoint absent here is not governed in that direction. */
  ingress: Record<string, string>;
  egress: Record<string, string>;
  /** Why an ungoverned endpoint is allowed, per direction, for explanations. */
  ungoverned: Record<Direction, string>;
}

export interface EndpointInfo {
  name: string;
  ips: string[];
  host?: string;
}

export interface HostInfo {
  name: string;
  backend: "nftables" | "iptables";
}

export interface PolicySet {
  /** Network name; the hosts' own table name derives from it. */
  network: string;
  endpoints: EndpointInfo[];
  hosts: HostInfo[];
  sets: Record<string, AddressSet>;
  /**
   * What a set is for, in the model's words (`stack web`, `label tier=db`), by set id; for the
   * comments of rendered rulesets. A set without an entry is described by its members.
   */
  setPurposes?: Record<string, string>;
  programs: Record<string, Program>;
  layers: Layer[];
}
