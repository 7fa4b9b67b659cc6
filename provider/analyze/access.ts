/**
 * Who may reach whom, as text that stays the same for the same reachability: one line per pair of
 * endpoint groups with everything the source may open to the destination. A group is the
 * endpoints whose rows and columns of the class matrix are equal (classes that differ in how the
 * policy is written, not in what it allows, are one group), so rewording a policy changes no
 * line, and a change of reachability changes only the lines of the groups it touches. Lines carry
 * no padding and no deciding rules for the same reason; `netpol diff` and `netpol explain` name
 * the rules. A line-by-line diff of two such texts (the engine's, for the Network's `access`
 * input) shows the connections opened (+) and closed (-).
 */
import type { PolicySet } from "../ir";
import { allowedSet, ClassAnalysis, PairOutcome } from "./classes";
import { allTrafficOr, groupText, valuesText, wireProtocols } from "./flows";

export const ACCESS_HEADER = "who may open connections to whom (anything not listed is denied; replies and an endpoint to itself always pass):";

/** Names a group shows before "…": enough to see which endpoint moved between small groups. */
const SHOWN = 8;

export interface AccessOptions {
  /** Lines after the header, at most; the rest is counted in a last line. @default 500 */
  maxLines?: number;
  /** Classes of endpoints, at most: the groups need classes² pairs, and every check computes them. @default 400 */
  maxClasses?: number;
}

/** What a source may open to a destination, e.g. `tcp/80, icmp/8` or `all traffic` (empty: nothing). */
export function allowedText(pair: PairOutcome, protocols: readonly number[]): string[] {
  if (pair.family === undefined) return [];
  const wire = wireProtocols(protocols, pair.family);
  const ports = wire.flatMap((w) => valuesText(w.protocol, w.other, allowedSet(pair.outcomes[w.index])));
  return ports.length === 0 ? [] : allTrafficOr(ports, wire);
}

/** The classes with equal rows and columns merged: each group's endpoints (model indices, ascending) and one class of it. */
function accessGroups(a: ClassAnalysis, index: ReadonlyMap<string, number>): { members: Int32Array; rep: number }[] {
  const n = a.classes.length;
  const ids = new Map<string, number>();
  const id = (p: PairOutcome) => {
    let v = ids.get(p.verdictKey);
    if (v === undefined) ids.set(p.verdictKey, (v = ids.size));
    return v;
  };
  const groups = new Map<string, { classes: number[]; rep: number }>();
  for (let c = 0; c < n; c++) {
    const row: number[] = [];
    const column: number[] = [];
    for (let x = 0; x < n; x++) {
      row.push(id(a.pair(c, x)));
      column.push(id(a.pair(x, c)));
    }
    const key = `${row.join(",")}|${column.join(",")}`;
    const g = groups.get(key);
    if (g) g.classes.push(c);
    else groups.set(key, { classes: [c], rep: c });
  }
  const list = [...groups.values()].map((g) => ({ members: sortedIndices(g.classes.flatMap((c) => a.classes[c].members.map((m) => index.get(m) ?? 0))), rep: g.rep }));
  return list.sort((x, y) => x.members[0] - y.members[0]);
}

const sortedIndices = (list: readonly number[]) => Int32Array.from(list).sort();

/** The lines after the header: `FROM → TO: PORTS`, sources then destinations in model order. */
export function accessLines(policySet: PolicySet, options: AccessOptions = {}): string[] {
  const maxLines = options.maxLines ?? 500;
  const maxClasses = options.maxClasses ?? 400;
  const a = new ClassAnalysis(policySet);
  if (a.classes.length > maxClasses) {
    return [`(not listed: ${a.classes.length} classes of endpoints, more than ${maxClasses}; netpol reach and netpol diff on a model file give the flows)`];
  }
  const all = policySet.endpoints.map((e) => e.name);
  const groups = accessGroups(a, new Map(all.map((name, i) => [name, i])));
  // Destinations a source reaches alike become one line, then sources that reach them alike (by group number).
  const bySource = new Map<string, { from: number; to: number[]; ports: string }>();
  // Pair outcomes are shared by many pairs of groups: their text once each.
  const texts = new Map<PairOutcome, string>();
  const textOf = (p: PairOutcome) => {
    let t = texts.get(p);
    if (t === undefined) texts.set(p, (t = allowedText(p, a.protocols).join(", ")));
    return t;
  };
  groups.forEach((s, si) => groups.forEach((d, di) => {
    if (si === di && s.members.length === 1) return;
    const ports = textOf(a.pair(s.rep, d.rep));
    if (ports === "") return;
    const key = `${si}|${ports}`;
    const row = bySource.get(key);
    if (row) row.to.push(di);
    else bySource.set(key, { from: si, to: [di], ports });
  }));
  const rows = new Map<string, { from: number[]; to: number[]; ports: string }>();
  for (const r of bySource.values()) {
    const key = `${r.to.join(",")}|${r.ports}`;
    const row = rows.get(key);
    if (row) row.from.push(r.from);
    else rows.set(key, { from: [r.from], to: r.to, ports: r.ports });
  }
  const endpointsOf = (list: readonly number[]) => {
    if (list.length === 1) return groups[list[0]].members;
    const out = new Int32Array(list.reduce((n, g) => n + groups[g].members.length, 0));
    let at = 0;
    for (const g of list) { out.set(groups[g].members, at); at += groups[g].members.length; }
    return out.sort();
  };
  const sorted = [...rows.values()].map((r) => ({ from: endpointsOf(r.from), to: endpointsOf(r.to), ports: r.ports }))
    .sort((x, y) => x.from[0] - y.from[0] || x.to[0] - y.to[0] || (x.ports < y.ports ? -1 : x.ports > y.ports ? 1 : 0));
  const names = (m: Int32Array) => Array.from(m, (i) => all[i]);
  const lines = sorted.slice(0, maxLines).map((r) => `${groupText(names(r.from), all, SHOWN)} → ${groupText(names(r.to), all, SHOWN)}: ${r.ports}`);
  const more = sorted.length - lines.length;
  if (more > 0) lines.push(`… and ${more} more line(s), not listed (at most ${maxLines}; netpol reach and netpol diff on a model file give them all)`);
  if (lines.length === 0) lines.push("(nobody: every connection between two endpoints is denied)");
  return lines;
}

/** The header and the lines, as one multi-line string. */
export function accessText(policySet: PolicySet, options: AccessOptions = {}): string {
  return [ACCESS_HEADER, ...accessLines(policySet, options)].join("\n");
}
