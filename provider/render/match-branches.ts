/**
 * Lowers one IR `Match` into packet-filter conjunctions ("branches") that together match exactly
 * the packets `Analyzer.matches` accepts. Both renderers print branches; neither re-derives the
 * semantics.
 *
 * Why a match can become several branches: the analysis reads a missing field as "does not hold"
 * (a probe without a port is not in any port range), so negated fields also match packets that do
 * not carry the field at all: `!dst_ports: [80]` holds for ICMP, `!icmp_type: 8` holds for TCP.
 * A filter can only test a field on packets that carry it, so such a match splits into "does not
 * carry it" OR "carries it and the value differs". The branches of one match are disjoint, so a
 * `log` rule logs a packet once.
 *
 * Address conditions are per family: a rule testing addresses, `ipVersion` or ICMP fields becomes
 * one branch group per family it can match. A positive test of a set with no address of that family
 * can never hold (the group is dropped); a negated one always holds (the test is dropped).
 */
import { Match, mergeRanges, PortRange, PROTO } from "../ir";
import type { Family } from "../model/net";

/** A source or destination address test against one family's part of a set. */
export interface AddrCond {
  dir: "src" | "dst";
  /** Rendered set id (`s_` + 12 hex), the family suffix is added by the renderers. */
  set: string;
  negate: boolean;
}

/** `in`: the protocol is one of these; `notIn`: it is none of these. Sorted, non-empty. */
export interface ProtoCond {
  op: "in" | "notIn";
  protocols: number[];
}

export interface PortCond {
  dir: "src" | "dst";
  /** Sorted, merged (non-overlapping, non-adjacent). */
  ranges: PortRange[];
  negate: boolean;
}

/** ICMP (v4) or ICMPv6 (v6) header field test; its branch always carries the ICMP protocol. */
export interface IcmpCond {
  field: "type" | "code";
  value: number;
  negate: boolean;
}

export interface Branch {
  /** Set when the branch only applies to one family's packets. */
  family?: Family;
  proto?: ProtoCond;
  addrs: AddrCond[];
  ports: PortCond[];
  icmp: IcmpCond[];
}

/** What the lowering needs to know about a set: its rendered id and which families it holds. */
export interface SetFacts {
  id: string;
  has: Record<Family, boolean>;
}

/** Protocols with ports at the usual offsets (what `th dport` / `-m multiport` read). */
export const PORTED: readonly number[] = [PROTO.tcp, PROTO.udp, 33 /* dccp */, PROTO.sctp, PROTO.udplite];
export const icmpProtocol = (f: Family): number => (f === 4 ? PROTO.icmp : PROTO.icmpv6);

/** The conjunction of two protocol conditions, or null when no protocol satisfies both. */
function andProto(a: ProtoCond | undefined, b: ProtoCond): ProtoCond | undefined | null {
  if (!a) return b;
  if (a.op === "in" && b.op === "in") {
    const protocols = a.protocols.filter((p) => b.protocols.includes(p));
    return protocols.length > 0 ? { op: "in", protocols } : null;
  }
  if (a.op === "notIn" && b.op === "notIn") {
    return { op: "notIn", protocols: [...new Set([...a.protocols, ...b.protocols])].sort((x, y) => x - y) };
  }
  const [yes, no] = a.op === "in" ? [a, b] : [b, a];
  const protocols = yes.protocols.filter((p) => !no.protocols.includes(p));
  return protocols.length > 0 ? { op: "in", protocols } : null;
}

const only = (...protocols: number[]): ProtoCond => ({ op: "in", protocols: [...protocols].sort((x, y) => x - y) });
const none = (...protocols: number[]): ProtoCond => ({ op: "notIn", protocols: [...protocols].sort((x, y) => x - y) });

/** A branch under construction (conditions are only ever added). */
type Draft = Branch;

function withProto(d: Draft, p: ProtoCond): Draft | undefined {
  const proto = andProto(d.proto, p);
  return proto === null ? undefined : { ...d, proto };
}

/**
 * A field test `cond` that only packets with protocol in `carriers` can satisfy. Positive: those
 * packets with the value. Negated: packets without the field, or with a different value.
 */
function fieldTest(drafts: Draft[], carriers: ProtoCond, holdsWithoutField: boolean,
  add: (d: Draft) => Draft | undefined): Draft[] {
  const out: Draft[] = [];
  for (const d of drafts) {
    if (holdsWithoutField) {
      const without = withProto(d, { op: "notIn", protocols: carriers.protocols });
      if (without) out.push(without);
    }
    const carrying = withProto(d, carriers);
    const tested = carrying && add(carrying);
    if (tested) out.push(tested);
  }
  return out;
}

/** The branches matching exactly what `Analyzer.matches(m, ·)` accepts; [] when nothing can match. */
export function branchesOf(m: Match, setFacts: (irSetId: string) => SetFacts): Branch[] {
  const hasIcmp = m.icmpType !== undefined || m.notIcmpType !== undefined || m.icmpCode !== undefined || m.notIcmpCode !== undefined;
  const perFamily = (m.src?.length ?? 0) > 0 || (m.dst?.length ?? 0) > 0 || m.ipVersion !== undefined || hasIcmp;
  const families: (Family | undefined)[] = perFamily ? ([4, 6] as const).filter((f) => m.ipVersion === undefined || m.ipVersion === f) : [undefined];
  const out: Branch[] = [];
  for (const family of families) out.push(...familyBranches(m, family, setFacts));
  return out;
}

function familyBranches(m: Match, family: Family | undefined, setFacts: (id: string) => SetFacts): Branch[] {
  let start: Draft | undefined = { ...(family ? { family } : {}), addrs: [], ports: [], icmp: [] };
  if (m.protocol !== undefined) start = start && withProto(start, only(m.protocol));
  if (m.notProtocol !== undefined) start = start && withProto(start, none(m.notProtocol));
  if (!start) return [];
  for (const [dir, conds] of [["src", m.src], ["dst", m.dst]] as const) {
    for (const c of conds ?? []) {
      const facts = setFacts(c.set);
      const negate = c.negate === true;
      if (family === undefined) throw new Error("address tests are per family");
      if (!facts.has[family]) {
        if (negate) continue; // "not in an empty set" always holds
        return []; // "in an empty set" never holds
      }
      start.addrs.push({ dir, set: facts.id, negate });
    }
  }
  let drafts: Draft[] = [start];
  const ported = only(...PORTED);
  const ports: [PortCond["dir"], PortRange[] | undefined, boolean][] = [
    ["dst", m.dstPorts, false], ["dst", m.notDstPorts, true], ["src", m.srcPorts, false], ["src", m.notSrcPorts, true],
  ];
  for (const [dir, ranges, negate] of ports) {
    if (!ranges) continue;
    const cond: PortCond = { dir, ranges: mergeRanges(ranges), negate };
    if (cond.ranges.length === 0) {
      // An empty list: no port is in it. Positive never holds; negated always does.
      if (!negate) return [];
      continue;
    }
    drafts = fieldTest(drafts, ported, negate, (d) => ({ ...d, ports: [...d.ports, cond] }));
  }
  if (family !== undefined) {
    const icmp = only(icmpProtocol(family));
    const test = (field: IcmpCond["field"], value: number, negate: boolean, holdsWithout: boolean) => {
      drafts = fieldTest(drafts, icmp, holdsWithout, (d) => ({ ...d, icmp: [...d.icmp, { field, value, negate }] }));
    };
    // The analysis compares a missing ICMP type as undefined and a missing code as 0.
    if (m.icmpType !== undefined) test("type", m.icmpType, false, false);
    if (m.notIcmpType !== undefined) test("type", m.notIcmpType, true, true);
    if (m.icmpCode !== undefined) test("code", m.icmpCode, false, m.icmpCode === 0);
    if (m.notIcmpCode !== undefined) test("code", m.notIcmpCode, true, m.notIcmpCode !== 0);
  }
  // IPv6 packets never carry protocol 1 (the analysis maps ICMP to ICMPv6 for IPv6 flows).
  if (family === 6) drafts = drafts.filter((d) => !(d.proto?.op === "in" && d.proto.protocols.every((p) => p === PROTO.icmp)));
  return drafts;
}
