/**
 * Evaluates the IR for one flow: may endpoint A open a connection to endpoint B with this probe,
 * and which rule (or default) decided in every layer and direction?
 */
import { AddressMatch, Direction, LayerName, Match, PolicySet, PortRange, Program, Verdict } from "../ir";
import { Address, containsAddress, Family, parseAddress, parseCidr, Cidr } from "../model/net";
import { Probe, probeForFamily } from "./probe";

export interface Decision {
  layer: LayerName;
  direction: Direction;
  /** The endpoint whose program decided: the source for egress, the destination for ingress. */
  endpoint: string;
  verdict: Verdict;
  /** The tier that decided, when a program exists. */
  tier?: string;
  /** The rule's path (`networkPolicies[2].spec.ingress[0]`) or the default that decided. */
  origin: string;
  /** How it decided: a matching rule, a tier's end, or not governed. */
  by: "rule" | "default" | "ungoverned";
  /** `log` rules the flow passed on the way. */
  logged: string[];
}

export interface ReachResult {
  from: string;
  to: string;
  probe: string;
  allowed: boolean;
  family?: Family;
  srcIp?: string;
  dstIp?: string;
  /** One decision per layer and direction, in evaluation order; empty for special cases. */
  trail: Decision[];
  /** Set when no layer was consulted (same endpoint, no common address family). */
  note?: string;
}

interface Flow {
  src: Address;
  dst: Address;
  srcName: string;
  dstName: string;
  probe: Probe;
}

const inRanges = (v: number | undefined, ranges: PortRange[]) => v !== undefined && ranges.some((r) => v >= r.from && v <= r.to);

/** Precomputes set lookups once per PolicySet; then answers any number of flows. */
export class Analyzer {
  private readonly members = new Map<string, Set<string>>();
  private readonly nets = new Map<string, Cidr[]>();
  private readonly endpoints: Map<string, { ips: Address[]; texts: string[] }>;

  constructor(readonly policySet: PolicySet) {
    for (const [id, set] of Object.entries(policySet.sets)) {
      if (set.kind === "endpoints") this.members.set(id, new Set(set.members));
      else this.nets.set(id, set.nets.map((n) => { const r = parseCidr(n); if (!r.ok) throw new Error(r.reason); return r.cidr; }));
    }
    this.endpoints = new Map(policySet.endpoints.map((e) => [e.name, {
      ips: e.ips.map((ip) => { const a = parseAddress(ip); if (!a) throw new Error(`bad address ${ip}`); return a; }),
      texts: e.ips,
    }]));
  }

  endpointNames(): string[] {
    return this.policySet.endpoints.map((e) => e.name);
  }

  reach(from: string, to: string, probe: Probe): ReachResult {
    const a = this.endpoints.get(from);
    const b = this.endpoints.get(to);
    if (!a) throw new Error(`unknown endpoint "${from}"`);
    if (!b) throw new Error(`unknown endpoint "${to}"`);
    const base = { from, to, probe: probe.text };
    if (from === to) return { ...base, allowed: true, trail: [], note: "same endpoint: the traffic never leaves it, no filter applies" };
    const family = ([4, 6] as const).find((f) => a.ips.some((ip) => ip.family === f) && b.ips.some((ip) => ip.family === f));
    if (family === undefined) return { ...base, allowed: false, trail: [], note: "the endpoints share no address family (one is IPv4-only, the other IPv6-only)" };
    const si = a.ips.findIndex((ip) => ip.family === family);
    const di = b.ips.findIndex((ip) => ip.family === family);
    const flow: Flow = { src: a.ips[si], dst: b.ips[di], srcName: from, dstName: to, probe: probeForFamily(probe, family) };
    const trail: Decision[] = [];
    for (const layer of this.policySet.layers) {
      for (const direction of ["egress", "ingress"] as const) {
        const endpoint = direction === "egress" ? from : to;
        const programId = layer[direction][endpoint];
        if (programId === undefined) {
          trail.push({ layer: layer.name, direction, endpoint, verdict: "allow", origin: layer.ungoverned[direction], by: "ungoverned", logged: [] });
          continue;
        }
        const program = this.policySet.programs[programId];
        trail.push({ layer: layer.name, direction, endpoint, ...this.run(program, flow) });
      }
    }
    return { ...base, allowed: trail.every((d) => d.verdict === "allow"), family, srcIp: a.texts[si], dstIp: b.texts[di], trail };
  }

  /** First match per tier; `pass` (or falling off with `next`) moves to the next tier. */
  private run(program: Program, flow: Flow): Omit<Decision, "layer" | "direction" | "endpoint"> {
    const logged: string[] = [];
    for (let t = 0; t < program.tiers.length; t++) {
      const tier = program.tiers[t];
      const last = t === program.tiers.length - 1;
      let passed = false;
      for (const rule of tier.rules) {
        if (!this.matches(rule.match, flow)) continue;
        if (rule.action === "log") { logged.push(rule.origin); continue; }
        if (rule.action === "pass") { passed = true; break; }
        return { verdict: rule.action, tier: tier.name, origin: rule.origin, by: "rule", logged };
      }
      if ((passed || tier.end === "next") && !last) continue;
      const end = tier.end === "next" ? "deny" : tier.end;
      return { verdict: end, tier: tier.name, origin: tier.endOrigin, by: "default", logged };
    }
    return { verdict: "deny", origin: "empty program", by: "default", logged };
  }

  private inSet(m: AddressMatch, addr: Address, name: string): boolean {
    const members = this.members.get(m.set);
    const hit = members ? members.has(name) : (this.nets.get(m.set) ?? []).some((c) => containsAddress(c, addr));
    return m.negate ? !hit : hit;
  }

  matches(m: Match, flow: Flow): boolean {
    const p = flow.probe;
    if (m.ipVersion !== undefined && m.ipVersion !== flow.src.family) return false;
    if (m.protocol !== undefined && m.protocol !== p.protocol) return false;
    if (m.notProtocol !== undefined && m.notProtocol === p.protocol) return false;
    if (m.src && !m.src.every((c) => this.inSet(c, flow.src, flow.srcName))) return false;
    if (m.dst && !m.dst.every((c) => this.inSet(c, flow.dst, flow.dstName))) return false;
    if (m.dstPorts && !inRanges(p.port, m.dstPorts)) return false;
    if (m.notDstPorts && inRanges(p.port, m.notDstPorts)) return false;
    if (m.srcPorts && !inRanges(p.srcPort, m.srcPorts)) return false;
    if (m.notSrcPorts && inRanges(p.srcPort, m.notSrcPorts)) return false;
    if (m.icmpType !== undefined && m.icmpType !== p.icmpType) return false;
    if (m.notIcmpType !== undefined && m.notIcmpType === p.icmpType) return false;
    if (m.icmpCode !== undefined && m.icmpCode !== (p.icmpCode ?? 0)) return false;
    if (m.notIcmpCode !== undefined && m.notIcmpCode === (p.icmpCode ?? 0)) return false;
    return true;
  }
}

export function reach(policySet: PolicySet, from: string, to: string, probe: Probe): ReachResult {
  return new Analyzer(policySet).reach(from, to, probe);
}
