/**
 * Who may now reach whom: every change of verdict between two policy sets, over every protocol
 * and port, grouped by classes. Endpoints of only one side are listed as added or removed; their
 * flows are not changes. Endpoints are compared by name.
 */
import { PolicySet, PortRange } from "../ir";
import { ClassAnalysis, Outcome, PairOutcome, Piece, protocolsOf } from "./classes";
import { allTrafficOr, groupText, valuesText, wireProtocols } from "./flows";
import { normalize, overlaps } from "./port-set";
import { Probe } from "./probe";

/** One group of flows whose verdict changed the same way. */
export interface FlowChange {
  change: "allowed" | "denied";
  /** Sources and destinations (endpoint names, model order). */
  from: string[];
  to: string[];
  /** `tcp/80-81`, `udp/53`, `icmp/8`, … */
  ports: string[];
  /** What decided before and what decides now (rule paths or defaults). */
  was: string[];
  now: string[];
}

export interface PolicyDiff {
  added: string[];
  removed: string[];
  changes: FlowChange[];
  /** Classes of the endpoints both sides have (old × new class). */
  classes: number;
}

/** A change inside one pair of classes, before grouping. */
export interface PairChange {
  change: "allowed" | "denied";
  ports: string[];
  was: readonly string[];
  now: readonly string[];
}

/** The reasons as shown: an allow nothing filtered says so. */
export const joinWhy = (why: readonly string[], allowed: boolean) => (why.length === 0 ? (allowed ? ["not filtered"] : []) : [...why]);

/** The values where two outcomes of one protocol differ in verdict, with the old and new reasons. */
export function changedPieces(before: Outcome, after: Outcome): { allowed: boolean; range: PortRange; was: Piece; now: Piece }[] {
  const out: { allowed: boolean; range: PortRange; was: Piece; now: Piece }[] = [];
  overlaps(before, after, (a, b, from, to) => {
    if (a.allowed !== b.allowed) out.push({ allowed: b.allowed, range: { from, to }, was: a, now: b });
  });
  return out;
}

export interface DiffOptions {
  /** Only these probes instead of every protocol and port. */
  probes?: readonly Probe[];
}

/** The two analyses a diff reads, with one protocol list so their outcomes line up. */
export function analysesFor(before: PolicySet, after: PolicySet): [ClassAnalysis, ClassAnalysis] {
  const protocols = protocolsOf([before, after]);
  return [new ClassAnalysis(before, { protocols }), new ClassAnalysis(after, { protocols })];
}

/** Endpoints treated alike before and after: one old class and one new class. */
export interface ClassGroup {
  oldClass: number;
  newClass: number;
  /** In the order of the names given. */
  members: string[];
}

/** Groups names by their (old class, new class), in order of first member. */
export function classGroups(names: readonly string[], oldClassOf: (name: string) => number, newClassOf: (name: string) => number): ClassGroup[] {
  const groups = new Map<string, ClassGroup>();
  for (const name of names) {
    const oldClass = oldClassOf(name);
    const newClass = newClassOf(name);
    const key = `${oldClass}:${newClass}`;
    const g = groups.get(key);
    if (g) g.members.push(name);
    else groups.set(key, { oldClass, newClass, members: [name] });
  }
  return [...groups.values()];
}

/** Visits every pair of (old class × new class) groups of common endpoints whose verdicts differ. */
export function forEachChangedPair(
  a: ClassAnalysis, b: ClassAnalysis, common: readonly string[],
  visit: (from: readonly string[], to: readonly string[], before: PairOutcome, after: PairOutcome) => void,
): number {
  const list = classGroups(common, (n) => a.classOf(n), (n) => b.classOf(n));
  for (const s of list) for (const d of list) {
    if (s === d && s.members.length === 1) continue;
    const before = a.pair(s.oldClass, d.oldClass);
    const after = b.pair(s.newClass, d.newClass);
    if (before !== after && before.verdictKey !== after.verdictKey) visit(s.members, d.members, before, after);
  }
  return list.length;
}

export function diffPolicySets(before: PolicySet, after: PolicySet, options: DiffOptions = {}): PolicyDiff {
  const [a, b] = analysesFor(before, after);
  const oldNames = new Set(before.endpoints.map((e) => e.name));
  const newNames = new Set(after.endpoints.map((e) => e.name));
  const common = after.endpoints.map((e) => e.name).filter((n) => oldNames.has(n));
  const protocols = a.protocols;
  const memo = new Map<PairOutcome, Map<PairOutcome, PairChange[]>>();
  const pairChanges = (x: PairOutcome, y: PairOutcome): PairChange[] => {
    let inner = memo.get(x);
    if (!inner) memo.set(x, (inner = new Map()));
    let found = inner.get(y);
    if (!found) {
      found = options.probes ? probeChanges(a, b, x, y, options.probes) : portChanges(x, y, protocols);
      inner.set(y, found);
    }
    return found;
  };
  // Group first by destination group and change, then merge the sources' groups.
  const rows = new Map<string, { change: PairChange; from: string[]; to: readonly string[] }>();
  const classes = forEachChangedPair(a, b, common, (from, to, x, y) => {
    for (const change of pairChanges(x, y)) {
      const key = `${to[0]}|${change.change}|${change.ports.join(",")}|${change.was.join(";")}|${change.now.join(";")}`;
      const row = rows.get(key);
      if (row) row.from.push(...from);
      else rows.set(key, { change, from: [...from], to });
    }
  });
  const merged = new Map<string, FlowChange>();
  for (const { change, from, to } of rows.values()) {
    const key = `${from.join(",")}|${change.change}|${change.ports.join(",")}|${change.was.join(";")}|${change.now.join(";")}`;
    const m = merged.get(key);
    if (m) m.to.push(...to);
    else merged.set(key, { change: change.change, from, to: [...to], ports: change.ports, was: [...change.was], now: [...change.now] });
  }
  const order = new Map(common.map((n, i) => [n, i]));
  const byOrder = (x: string, y: string) => (order.get(x) ?? 0) - (order.get(y) ?? 0);
  const changes = [...merged.values()].map((c) => ({ ...c, from: c.from.sort(byOrder), to: c.to.sort(byOrder) }));
  changes.sort((x, y) => byOrder(x.from[0], y.from[0]) || byOrder(x.to[0], y.to[0]) || (x.change < y.change ? -1 : x.change > y.change ? 1 : 0));
  return {
    added: after.endpoints.map((e) => e.name).filter((n) => !oldNames.has(n)),
    removed: before.endpoints.map((e) => e.name).filter((n) => !newNames.has(n)),
    changes,
    classes,
  };
}

/** Every protocol and port whose verdict differs, grouped by the old and new reasons. */
export function portChanges(x: PairOutcome, y: PairOutcome, protocols: readonly number[]): PairChange[] {
  const groups = new Map<string, { change: "allowed" | "denied"; was: readonly string[]; now: readonly string[]; ports: string[] }>();
  const wire = wireProtocols(protocols, y.family ?? x.family);
  for (const { protocol, index, other } of wire) {
    const byReason = new Map<string, { change: "allowed" | "denied"; was: readonly string[]; now: readonly string[]; ranges: PortRange[] }>();
    for (const c of changedPieces(x.outcomes[index], y.outcomes[index])) {
      const was = joinWhy(c.was.why, c.was.allowed);
      const now = joinWhy(c.now.why, c.now.allowed);
      const key = `${c.allowed}|${was.join(";")}|${now.join(";")}`;
      const g = byReason.get(key);
      if (g) g.ranges.push(c.range);
      else byReason.set(key, { change: c.allowed ? "allowed" : "denied", was, now, ranges: [c.range] });
    }
    for (const [key, g] of byReason) {
      const ports = valuesText(protocol, other, normalize(g.ranges));
      if (ports.length === 0) continue;
      const target = groups.get(key);
      if (target) target.ports.push(...ports);
      else groups.set(key, { change: g.change, was: g.was, now: g.now, ports });
    }
  }
  for (const g of groups.values()) g.ports = allTrafficOr(g.ports, wire);
  return [...groups.values()];
}

/** The probes whose verdict differs. */
function probeChanges(a: ClassAnalysis, b: ClassAnalysis, x: PairOutcome, y: PairOutcome, probes: readonly Probe[]): PairChange[] {
  const groups = new Map<string, PairChange>();
  for (const p of probes) {
    const was = a.pieceFor(x, p);
    const now = b.pieceFor(y, p);
    if (was.allowed === now.allowed) continue;
    const change = now.allowed ? "allowed" : "denied";
    const key = `${change}|${was.why.join(";")}|${now.why.join(";")}`;
    const g = groups.get(key);
    if (g) g.ports.push(p.text);
    else groups.set(key, { change, ports: [p.text], was: joinWhy(was.why, was.allowed), now: joinWhy(now.why, now.allowed) });
  }
  return [...groups.values()];
}

/** Only the cells whose verdict changed, with the new verdict, per probe (endpoints of both sides). */
export function changedCells(before: PolicySet, after: PolicySet, probes: readonly Probe[]): { probe: string; changed: Record<string, Record<string, boolean>> }[] {
  const [a, b] = analysesFor(before, after);
  const oldNames = new Set(before.endpoints.map((e) => e.name));
  const common = after.endpoints.map((e) => e.name).filter((n) => oldNames.has(n));
  const cells: Record<string, Record<string, boolean>>[] = probes.map(() => ({}));
  forEachChangedPair(a, b, common, (from, to, x, y) => {
    probes.forEach((p, i) => {
      const now = b.pieceFor(y, p).allowed;
      if (a.pieceFor(x, p).allowed === now) return;
      for (const f of from) for (const t of to) {
        if (f === t) continue;
        (cells[i][f] ??= {})[t] = now;
      }
    });
  });
  const order = new Map(common.map((n, i) => [n, i]));
  const sorted = (r: Record<string, boolean>) => Object.fromEntries(Object.entries(r).sort(([x], [y]) => (order.get(x) ?? 0) - (order.get(y) ?? 0)));
  return probes.map((p, i) => ({
    probe: p.text,
    changed: Object.fromEntries(Object.entries(cells[i]).sort(([x], [y]) => (order.get(x) ?? 0) - (order.get(y) ?? 0)).map(([f, r]) => [f, sorted(r)])),
  }));
}

/** The diff as text, one line per change, aligned; `all` names the endpoints for group names. */
export function formatDiff(d: PolicyDiff, all: readonly string[]): string {
  const lines: string[] = [];
  for (const n of d.added) lines.push(`+ endpoint ${n} (only in the new model)`);
  for (const n of d.removed) lines.push(`- endpoint ${n} (only in the old model)`);
  const rows = d.changes.map((c) => ({
    head: c.change === "allowed" ? "+ allowed " : "- denied  ",
    flow: `${groupText(c.from, all)} → ${groupText(c.to, all)}`,
    ports: c.ports.join(", "),
    why: c.change === "allowed" ? `by ${c.now.join(" + ")}` : `was ${c.was.join(" + ")}, now ${c.now.join("; ")}`,
  }));
  const flowWidth = Math.max(0, ...rows.map((r) => r.flow.length));
  const portWidth = Math.max(0, ...rows.map((r) => r.ports.length));
  for (const r of rows) lines.push(`${r.head} ${r.flow.padEnd(flowWidth)}   ${r.ports.padEnd(portWidth)}   ${r.why}`);
  if (lines.length === 0) lines.push("no change in who may reach whom");
  return lines.join("\n");
}
