/**
 * Equivalence classes of endpoints and their reachability as port sets.
 *
 * Two endpoints are in one class when every layer treats them alike in both directions: the same
 * programs, the same address families, and the same membership in every address set (for nets:
 * the address a flow would use, per family). Then, for every other endpoint, the two give the same
 * verdict as source and as destination; only the pair of an endpoint with itself differs (always
 * allowed). So reachability is computed once per pair of classes and per protocol, over the whole
 * value space (destination ports; ICMP type × 256 + code) at once, as pieces of that space with
 * the verdict and the deciding rules.
 *
 * A program's result depends only on its own rules and on the two endpoints' membership in the sets
 * those rules test; it is computed once per distinct membership and shared by every pair of
 * classes with it. Probes are taken without a source port, as `netpol` probes are.
 */
import { AddressMatch, Match, PolicySet, PortRange, Program, PROTO } from "../ir";
import { Address, containsAddress, Family, parseAddress, parseCidr, Cidr } from "../model/net";
import { EMPTY, FULL, intersect, normalize, overlaps, PortSet, SPACE_MAX, subtract, union } from "./port-set";
import { Probe, probeForFamily } from "./probe";

/** One piece of a protocol's value space with the verdict and the rules that decided it. */
export interface Piece {
  from: number;
  to: number;
  allowed: boolean;
  /** The deciding rules or defaults (for an allow: every governing allow; for a deny: every deny). */
  why: readonly string[];
}

/** Pieces covering `0..SPACE_MAX` in order, adjacent pieces differing. */
export type Outcome = readonly Piece[];

export interface EndpointClass {
  index: number;
  /** Endpoint names, in model order. */
  members: string[];
}

/** What one pair of classes may do: per protocol of `ClassAnalysis.protocols`, an outcome. */
export interface PairOutcome {
  family?: Family;
  outcomes: readonly Outcome[];
  /** Equal for two pairs exactly when their verdicts (not their reasons) are equal everywhere. */
  verdictKey: string;
}

export type ValueKind = "ports" | "icmp" | "none";

const PORT_PROTOCOLS: ReadonlySet<number> = new Set([PROTO.tcp, PROTO.udp, PROTO.sctp]);
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([PROTO.icmp, PROTO.icmpv6]);

/** What a protocol's value space is: destination ports, ICMP type and code, or a single value. */
export function valueKind(protocol: number): ValueKind {
  if (PORT_PROTOCOLS.has(protocol)) return "ports";
  if (ICMP_PROTOCOLS.has(protocol)) return "icmp";
  return "none";
}

/** Where a probe falls in its protocol's value space. */
export function probeValue(p: Probe): number {
  switch (valueKind(p.protocol)) {
    case "ports": return p.port ?? 0;
    case "icmp": return (p.icmpType ?? 0) * 256 + (p.icmpCode ?? 0);
    case "none": return 0;
  }
}

/** Every protocol the policy sets name, the common ones, and one stand-in for all others (last). */
export function protocolsOf(policySets: readonly PolicySet[]): number[] {
  const named = new Set<number>([PROTO.icmp, PROTO.tcp, PROTO.udp, PROTO.icmpv6, PROTO.sctp]);
  for (const ps of policySets) {
    for (const p of Object.values(ps.programs)) {
      for (const t of p.tiers) for (const r of t.rules) {
        if (r.match.protocol !== undefined) named.add(r.match.protocol);
        if (r.match.notProtocol !== undefined) named.add(r.match.notProtocol);
      }
    }
  }
  let other = 253;
  while (named.has(other)) other = (other + 255) % 256;
  return [...[...named].sort((a, b) => a - b), other];
}

const icmpTypeRange = (t: number): PortSet => [{ from: t * 256, to: t * 256 + 255 }];
const icmpCodePoints = (c: number): PortSet => Array.from({ length: 256 }, (_, t) => ({ from: t * 256 + c, to: t * 256 + c }));

interface Side {
  /** Is the source (or destination) in this set? */
  has(set: string): boolean;
}

/** The values of the space a rule matches, for a flow of this family and protocol between these sides. */
export function matchedValues(m: Match, family: Family, protocol: number, src: Side, dst: Side): PortSet {
  if (m.ipVersion !== undefined && m.ipVersion !== family) return EMPTY;
  if (m.protocol !== undefined && m.protocol !== protocol) return EMPTY;
  if (m.notProtocol !== undefined && m.notProtocol === protocol) return EMPTY;
  const holds = (side: Side) => (c: AddressMatch) => side.has(c.set) !== (c.negate === true);
  if (m.src && !m.src.every(holds(src))) return EMPTY;
  if (m.dst && !m.dst.every(holds(dst))) return EMPTY;
  if (m.srcPorts) return EMPTY; // probes carry no source port
  const kind = valueKind(protocol);
  let v: PortSet = FULL;
  if (m.dstPorts) v = kind === "ports" ? intersect(v, normalize(m.dstPorts)) : EMPTY;
  if (m.notDstPorts && kind === "ports") v = subtract(v, normalize(m.notDstPorts));
  // Outside ICMP the probe has no type, and its code counts as 0 (as reach.ts matches them).
  if (m.icmpType !== undefined) v = kind === "icmp" ? intersect(v, icmpTypeRange(m.icmpType)) : EMPTY;
  if (m.notIcmpType !== undefined && kind === "icmp") v = subtract(v, icmpTypeRange(m.notIcmpType));
  if (m.icmpCode !== undefined) v = kind === "icmp" ? intersect(v, icmpCodePoints(m.icmpCode)) : m.icmpCode === 0 ? v : EMPTY;
  if (m.notIcmpCode !== undefined) v = kind === "icmp" ? subtract(v, icmpCodePoints(m.notIcmpCode)) : m.notIcmpCode === 0 ? EMPTY : v;
  return v;
}

function piecesOf(set: PortSet, allowed: boolean, why: string): Piece[] {
  return set.map((r) => ({ from: r.from, to: r.to, allowed, why: [why] }));
}

const defaultWhy = (verdict: "allow" | "deny", origin: string) => `default ${verdict} (${origin})`;

/** Runs a program over the whole value space at once: first match per tier, `pass` to the next tier. */
export function programOutcome(program: Program, family: Family, protocol: number, src: Side, dst: Side): Outcome {
  const pieces: Piece[] = [];
  let undecided: PortSet = FULL;
  if (program.tiers.length === 0) return [{ from: 0, to: SPACE_MAX, allowed: false, why: [defaultWhy("deny", "empty program")] }];
  program.tiers.forEach((tier, t) => {
    const last = t === program.tiers.length - 1;
    let here = undecided;
    let passed: PortSet = EMPTY;
    for (const rule of tier.rules) {
      if (here.length === 0) break;
      if (rule.action === "log") continue;
      const hit = intersect(here, matchedValues(rule.match, family, protocol, src, dst));
      if (hit.length === 0) continue;
      here = subtract(here, hit);
      if (rule.action === "pass") passed = union(passed, hit);
      else pieces.push(...piecesOf(hit, rule.action === "allow", rule.origin));
    }
    if (!last) {
      undecided = tier.end === "next" ? union(passed, here) : passed;
      if (tier.end !== "next") pieces.push(...piecesOf(here, tier.end === "allow", defaultWhy(tier.end, tier.endOrigin)));
    } else {
      const end = tier.end === "next" ? "deny" : tier.end;
      pieces.push(...piecesOf(union(passed, here), end === "allow", defaultWhy(end, tier.endOrigin)));
      undecided = EMPTY;
    }
  });
  return mergePieces(pieces.sort((a, b) => a.from - b.from));
}

const sameWhy = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((w, i) => w === b[i]);

function mergePieces(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.to + 1 === p.from && last.allowed === p.allowed && sameWhy(last.why, p.why)) out[out.length - 1] = { ...last, to: p.to };
    else out.push(p);
  }
  return out;
}

/** Both must allow: the verdict of two outcomes of one flow (an egress and an ingress, two layers). */
export function bothAllow(a: Outcome, b: Outcome): Outcome {
  const out: Piece[] = [];
  overlaps(a, b, (pa, pb, from, to) => {
    const allowed = pa.allowed && pb.allowed;
    const why = allowed || (!pa.allowed && !pb.allowed) ? [...new Set([...pa.why, ...pb.why])] : pa.allowed ? pb.why : pa.why;
    out.push({ from, to, allowed, why });
  });
  return mergePieces(out);
}

/** The pieces of an outcome whose verdict is allow, as a port set (adjacent allows of different rules merged). */
export function allowedSet(o: Outcome): PortSet {
  return normalize(o.filter((p) => p.allowed).map((p): PortRange => ({ from: p.from, to: p.to })));
}

/** The piece holding `value`. */
export function pieceAt(o: Outcome, value: number): Piece {
  let lo = 0;
  let hi = o.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (o[mid].from <= value) lo = mid;
    else hi = mid - 1;
  }
  return o[lo];
}

interface TrieNode {
  next: Map<number, TrieNode>;
  /** The outcome ids on the way here. */
  ids: number[];
  outcome?: PairOutcome;
}

interface ClassFacts {
  families: { 4: boolean; 6: boolean };
  /** Endpoint sets (family-independent) and, per family, net sets holding the flow's address. */
  sets: Set<string>;
  nets: { 4: Set<string>; 6: Set<string> };
}

/** A program, the sets it tests on the source and on the destination side, and its memo. */
interface ProgramRefs {
  program: Program;
  src: string[];
  dst: string[];
  /** Per family and side (0: source, 1: destination): class index → membership key (-1: not yet). */
  keys: Record<Family, [Int32Array, Int32Array]>;
  keyIds: Record<Family, [Map<number | string, number>, Map<number | string, number>]>;
  /** Per family: source key → destination key → outcome id. */
  memo: Record<Family, number[][]>;
}

const NO_FAMILY: Outcome = [{ from: 0, to: SPACE_MAX, allowed: false, why: ["the endpoints share no address family (one is IPv4-only, the other IPv6-only)"] }];

export interface ClassAnalysisOptions {
  /** The protocols to compute; default `protocolsOf([policySet])`. Its last entry stands in for every protocol not listed. */
  protocols?: number[];
}

export class ClassAnalysis {
  readonly classes: EndpointClass[] = [];
  readonly protocols: number[];
  private readonly classByEndpoint = new Map<string, number>();
  private readonly facts: ClassFacts[] = [];
  /** Per class, per layer: [egress program, ingress program] (undefined: not governed). */
  private readonly programsOf: (ProgramRefs | undefined)[][][] = [];
  private readonly refs = new Map<string, ProgramRefs>();
  private readonly netSets = new Set<string>();
  private readonly outcomeList: Outcome[][] = [];
  private readonly pairTrie: Record<Family, TrieNode> = { 4: { next: new Map(), ids: [] }, 6: { next: new Map(), ids: [] } };
  private readonly noFamily: PairOutcome;

  constructor(readonly policySet: PolicySet, options: ClassAnalysisOptions = {}) {
    this.protocols = options.protocols ?? protocolsOf([policySet]);
    this.noFamily = { outcomes: this.protocols.map(() => NO_FAMILY), verdictKey: "none" };
    const nets = new Map<string, Cidr[]>();
    const setsOfEndpoint = new Map<string, string[]>();
    for (const [id, set] of Object.entries(policySet.sets)) {
      if (set.kind === "endpoints") {
        for (const m of set.members) {
          const list = setsOfEndpoint.get(m);
          if (list) list.push(id);
          else setsOfEndpoint.set(m, [id]);
        }
      } else {
        this.netSets.add(id);
        nets.set(id, set.nets.map((n) => { const r = parseCidr(n); if (!r.ok) throw new Error(r.reason); return r.cidr; }));
      }
    }
    for (const [id, program] of Object.entries(policySet.programs)) {
      const src = new Set<string>();
      const dst = new Set<string>();
      for (const t of program.tiers) for (const r of t.rules) {
        for (const c of r.match.src ?? []) src.add(c.set);
        for (const c of r.match.dst ?? []) dst.add(c.set);
      }
      this.refs.set(id, {
        program, src: [...src].sort(), dst: [...dst].sort(),
        keys: { 4: [new Int32Array(0), new Int32Array(0)], 6: [new Int32Array(0), new Int32Array(0)] },
        keyIds: { 4: [new Map(), new Map()], 6: [new Map(), new Map()] },
        memo: { 4: [], 6: [] },
      });
    }
    const byKey = new Map<string, number>();
    for (const e of policySet.endpoints) {
      const addrs = e.ips.map((ip) => { const a = parseAddress(ip); if (!a) throw new Error(`bad address ${ip}`); return a; });
      const first = (f: Family): Address | undefined => addrs.find((a) => a.family === f);
      const netsFor = (a: Address | undefined) => (a === undefined ? [] : [...nets].filter(([, cidrs]) => cidrs.some((c) => containsAddress(c, a))).map(([id]) => id));
      const v4 = first(4);
      const v6 = first(6);
      const facts: ClassFacts = {
        families: { 4: v4 !== undefined, 6: v6 !== undefined },
        sets: new Set(setsOfEndpoint.get(e.name) ?? []),
        nets: { 4: new Set(netsFor(v4)), 6: new Set(netsFor(v6)) },
      };
      const programs = policySet.layers.map((l) => [l.egress[e.name], l.ingress[e.name]]);
      const key = JSON.stringify([facts.families, [...facts.sets], [...facts.nets[4]], [...facts.nets[6]], programs]);
      let c = byKey.get(key);
      if (c === undefined) {
        c = this.classes.length;
        byKey.set(key, c);
        this.classes.push({ index: c, members: [] });
        this.facts.push(facts);
        this.programsOf.push(programs.map((pair) => pair.map((id) => (id === undefined ? undefined : this.refs.get(id)))));
      }
      this.classes[c].members.push(e.name);
      this.classByEndpoint.set(e.name, c);
    }
    for (const refs of this.refs.values()) {
      for (const f of [4, 6] as const) refs.keys[f] = [new Int32Array(this.classes.length).fill(-1), new Int32Array(this.classes.length).fill(-1)];
    }
  }

  classOf(endpoint: string): number {
    const c = this.classByEndpoint.get(endpoint);
    if (c === undefined) throw new Error(`unknown endpoint "${endpoint}"`);
    return c;
  }

  hasEndpoint(endpoint: string): boolean {
    return this.classByEndpoint.has(endpoint);
  }

  /** The index in `protocols` a protocol number is computed under. */
  protocolIndex(protocol: number): number {
    const i = this.protocols.indexOf(protocol);
    return i >= 0 && i < this.protocols.length - 1 ? i : this.protocols.length - 1;
  }

  /** What a source of class `s` may open to a destination of class `d` (two distinct endpoints). */
  pair(s: number, d: number): PairOutcome {
    const fs = this.facts[s].families;
    const fd = this.facts[d].families;
    const family: Family | undefined = fs[4] && fd[4] ? 4 : fs[6] && fd[6] ? 6 : undefined;
    if (family === undefined) return this.noFamily;
    // A trie over the outcome ids of every layer and direction: numbers only, no key strings.
    let node = this.pairTrie[family];
    const programs = this.programsOf;
    for (let l = 0; l < programs[s].length; l++) {
      for (let dir = 0; dir < 2; dir++) {
        const refs = programs[dir === 0 ? s : d][l][dir];
        const id = refs ? this.programResult(refs, family, s, d) : -1;
        let next = node.next.get(id);
        if (!next) {
          next = { next: new Map(), ids: [...node.ids, id] };
          node.next.set(id, next);
        }
        node = next;
      }
    }
    if (!node.outcome) node.outcome = this.combine(family, node.ids);
    return node.outcome;
  }

  /** May `from` open a connection to `to` with this probe? Equal to `reach(...).allowed`. */
  allowed(from: string, to: string, probe: Probe): boolean {
    return this.decide(from, to, probe).allowed;
  }

  /** The piece of the pair's outcome a probe falls in: its verdict and deciding rules. */
  decide(from: string, to: string, probe: Probe): Piece {
    if (from === to) return { from: 0, to: SPACE_MAX, allowed: true, why: ["same endpoint"] };
    return this.pieceFor(this.pair(this.classOf(from), this.classOf(to)), probe);
  }

  /**
   * For one probe, whether a source of class `s` may reach a destination of class `d` (distinct
   * endpoints): equal to `pieceFor(pair(s, d), probe).allowed`, but each program's verdict is taken
   * once per (source key, destination key) of that program and the pair stops at the first layer
   * that denies, so a pair costs a few array reads and no pair outcome is built.
   */
  verdicts(probe: Probe): (s: number, d: number) => boolean {
    const wire = (family: Family) => {
      const w = probeForFamily(probe, family);
      return { protocol: this.protocolIndex(w.protocol), value: probeValue(w) };
    };
    const wires = { 4: wire(4), 6: wire(6) };
    // Outcome id → 1 allowed, 0 denied (ids are unique across families).
    const allowedById: number[] = [];
    const programAllows = (refs: ProgramRefs, family: Family, s: number, d: number): boolean => {
      const id = this.programResult(refs, family, s, d);
      let v = allowedById[id];
      if (v === undefined) {
        const w = wires[family];
        v = pieceAt(this.outcomeList[id][w.protocol], w.value).allowed ? 1 : 0;
        allowedById[id] = v;
      }
      return v === 1;
    };
    const programs = this.programsOf;
    return (s, d) => {
      const fs = this.facts[s].families;
      const fd = this.facts[d].families;
      const family: Family | undefined = fs[4] && fd[4] ? 4 : fs[6] && fd[6] ? 6 : undefined;
      if (family === undefined) return false;
      const egress = programs[s];
      const ingress = programs[d];
      for (let l = 0; l < egress.length; l++) {
        const out = egress[l][0];
        if (out && !programAllows(out, family, s, d)) return false;
        const into = ingress[l][1];
        if (into && !programAllows(into, family, s, d)) return false;
      }
      return true;
    };
  }

  /** The piece of a pair outcome a probe falls in. */
  pieceFor(p: PairOutcome, probe: Probe): Piece {
    if (p.family === undefined) return p.outcomes[0][0];
    const wire = probeForFamily(probe, p.family);
    return pieceAt(p.outcomes[this.protocolIndex(wire.protocol)], probeValue(wire));
  }

  private combine(family: Family, ids: readonly number[]): PairOutcome {
    const outcomes = this.protocols.map((_, pi) => {
      let acc: Outcome = [{ from: 0, to: SPACE_MAX, allowed: true, why: [] }];
      for (const id of ids) if (id >= 0) acc = bothAllow(acc, this.outcomeList[id][pi]);
      return acc;
    });
    const verdictKey = `${family}|${outcomes.map((o) => allowedSet(o).map((r) => `${r.from}-${r.to}`).join(",")).join("|")}`;
    return { family, outcomes, verdictKey };
  }

  /** The interned id of a program's outcomes (every protocol) for this family and these two classes. */
  private programResult(refs: ProgramRefs, family: Family, s: number, d: number): number {
    const srcKey = this.sideKey(refs, family, 0, s);
    const dstKey = this.sideKey(refs, family, 1, d);
    const row = (refs.memo[family][srcKey] ??= []);
    let id = row[dstKey];
    if (id === undefined) {
      const src = this.side(s, family);
      const dst = this.side(d, family);
      id = this.outcomeList.length;
      this.outcomeList.push(this.protocols.map((proto) => programOutcome(refs.program, family, proto, src, dst)));
      row[dstKey] = id;
    }
    return id;
  }

  private side(c: number, family: Family): Side {
    const f = this.facts[c];
    return { has: (set) => (this.netSets.has(set) ? f.nets[family].has(set) : f.sets.has(set)) };
  }

  /** The class's membership in the sets the program tests on one side (0: source, 1: destination), as a small number. */
  private sideKey(refs: ProgramRefs, family: Family, which: 0 | 1, c: number): number {
    const keys = refs.keys[family][which];
    if (keys[c] < 0) {
      const f = this.facts[c];
      const sets = which === 0 ? refs.src : refs.dst;
      // Up to 30 sets the membership is a bit mask; beyond, a string of bits.
      let bits: number | string = 0;
      if (sets.length <= 30) {
        for (let i = 0; i < sets.length; i++) if (this.netSets.has(sets[i]) ? f.nets[family].has(sets[i]) : f.sets.has(sets[i])) bits |= 1 << i;
      } else {
        bits = sets.map((set) => (this.netSets.has(set) ? f.nets[family].has(set) : f.sets.has(set)) ? "1" : "0").join("");
      }
      const ids = refs.keyIds[family][which];
      let id = ids.get(bits);
      if (id === undefined) {
        id = ids.size;
        ids.set(bits, id);
      }
      keys[c] = id;
    }
    return keys[c];
  }
}
