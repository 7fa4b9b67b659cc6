/**
 * Test support: runs a packet through what the renderers print (branches, tier chains, dispatch)
 * the way the kernel would, so tests can compare it with `Analyzer.reach` flow by flow.
 * Conditions are evaluated left to right as a filter does; a port or ICMP test reached by a
 * packet that does not carry the field is a rendering bug and throws.
 */
import { AddressSet, PolicySet } from "../../provider/ir";
import { containsAddress, cidrOf, Family, parseAddress, Address } from "../../provider/model/net";
import { Branch, icmpProtocol, PORTED } from "../../provider/render/match-branches";
import { ChainAction, TierChain } from "../../provider/render/chains";
import { HostProgram, HostPrograms } from "../../provider/render/host-program";

export interface Packet {
  family: Family;
  src: Address;
  dst: Address;
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** `inSet(renderedSetId, address)`: whether the rendered set (that family's part) holds it. */
export type InSet = (set: string, addr: Address) => boolean;

export function inAddressSet(set: AddressSet, ps: PolicySet, addr: Address): boolean {
  if (set.kind === "nets") return set.nets.some((n) => containsAddress(cidrOf(n), addr));
  return set.members.some((m) => (ps.endpoints.find((e) => e.name === m)?.ips ?? [])
    .some((ip) => { const a = parseAddress(ip); return a !== undefined && a.family === addr.family && a.value === addr.value; }));
}

export function branchHolds(b: Branch, p: Packet, inSet: InSet): boolean {
  if (b.family !== undefined && b.family !== p.family) return false;
  if (b.proto && b.proto.protocols.includes(p.protocol) !== (b.proto.op === "in")) return false;
  for (const a of b.addrs) {
    if (inSet(a.set, a.dir === "src" ? p.src : p.dst) === a.negate) return false;
  }
  for (const c of b.ports) {
    if (!PORTED.includes(p.protocol)) throw new Error(`port test reached by protocol ${p.protocol}: ${JSON.stringify(b)}`);
    const v = c.dir === "src" ? p.srcPort : p.dstPort;
    if (v === undefined) throw new Error("ported packet without a port");
    if (c.ranges.some((r) => v >= r.from && v <= r.to) === c.negate) return false;
  }
  for (const c of b.icmp) {
    if (b.family === undefined) throw new Error("ICMP test in a branch without a family");
    if (p.protocol !== icmpProtocol(b.family)) throw new Error(`ICMP test reached by protocol ${p.protocol}`);
    const v = c.field === "type" ? p.icmpType : (p.icmpCode ?? 0);
    if ((v === c.value) === c.negate) return false;
  }
  return true;
}

type Outcome = "return" | "drop";

/** Runs one tier chain (and the chains it goes to); `logs` collects the layers of log rules hit. */
export function runChain(chains: ReadonlyMap<string, TierChain>, start: string, p: Packet, inSet: InSet, logs: string[]): Outcome {
  let chain = chains.get(start);
  for (let hops = 0; chain !== undefined && hops < 100; hops++) {
    let next: ChainAction = chain.tail;
    for (const r of chain.rules) {
      if (!branchHolds(r.branch, p, inSet)) continue;
      if (r.action.kind === "log") { logs.push(r.action.layer); continue; }
      next = r.action;
      break;
    }
    if (next.kind === "return" || next.kind === "drop") return next.kind;
    chain = chains.get(next.chain);
  }
  throw new Error(`chain ${start} missing or looping`);
}

/** The host's forward chain for a new connection: every dispatch map that keys on the packet. */
export function runHost(program: HostProgram, p: Packet, inSet: InSet, logs: string[] = []): boolean {
  const chains = new Map(program.chains.map((c) => [c.id, c]));
  for (const d of program.dispatch) {
    if (d.family !== p.family) continue;
    const key = d.direction === "egress" ? p.src : p.dst;
    const entry = d.entries.find((e) => { const a = parseAddress(e.address); return a?.value === key.value; });
    if (!entry) continue;
    if (entry.target.kind === "drop") return false;
    if (runChain(chains, entry.target.chain, p, inSet, logs) === "drop") return false;
  }
  return true;
}

/** A rendered-set lookup for the programs a `HostPrograms` gives (rendered id → IR set content). */
export function programsInSet(programs: HostPrograms, ps: PolicySet): InSet {
  const byRendered = new Map<string, AddressSet>();
  for (const id of Object.keys(ps.sets)) byRendered.set(programs.setFacts(id).id, ps.sets[id]);
  return (set, addr) => {
    const s = byRendered.get(set);
    if (!s) throw new Error(`unknown rendered set ${set}`);
    return inAddressSet(s, ps, addr);
  };
}
