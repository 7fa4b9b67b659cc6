/**
 * The data of `netpol view`'s page: the class-level matrix of one policy set (or, with an old one,
 * of the groups of endpoints treated alike before and after), per protocol a heat level per cell,
 * the deciding rules of each distinct outcome in the model's words, and with an old policy set the
 * connections each cell opens or closes. Outcomes are interned by their text and a cell is one or
 * two characters, so that the page stays small at 10,000 endpoints: one entry per distinct
 * outcome as it reads, not per pair.
 */
import { PolicySet, PortRange } from "../ir";
import { ClassAnalysis, Outcome, PairOutcome, valueKind } from "./classes";
import { analysesFor, changedPieces, classGroups, ClassGroup, joinWhy, portChanges } from "./diff";
import { groupText, protocolText, valuesText, wireProtocols } from "./flows";
import { intersect, normalize, PortSet, size, SPACE_MAX } from "./port-set";

/** Heat levels: 0 nothing allowed, `HEAT_LEVELS` everything, between: a share of the values (log scale). */
export const HEAT_LEVELS = 8;

/** A cell that is a single endpoint with itself: always allowed, no outcome. */
export const SAME_ENDPOINT = -1;

/** What the page draws for one pair outcome. */
export interface ViewOutcome {
  /** Per protocol of `ViewData.protocols`: 0 … HEAT_LEVELS. */
  heat: number[];
  /** Per protocol: `allowed tcp/80 — network.policy[0]`, one line per verdict and reason. */
  lines: string[][];
}

/** How a cell changed from the old policy set: per protocol a mark, and the changes in words. */
export interface ViewChange {
  /** Per protocol: 0 unchanged, 1 opened (some values now allowed), 2 closed, 3 both. */
  marks: number[];
  /** `+ allowed tcp/80 by network.policy[1]`, `- denied udp/53 was …, now …`. */
  lines: string[];
}

export interface ViewGroup {
  /** `stack_one/* (3 endpoints)`, as `netpol diff` names groups. */
  label: string;
  members: string[];
  /** Only in the new model (with an old one). */
  added?: boolean;
}

export interface ViewData {
  title: string;
  protocols: string[];
  groups: ViewGroup[];
  outcomes: ViewOutcome[];
  /** Row-major (source group × destination group) outcome indices (SAME_ENDPOINT for an endpoint with itself). */
  cells: CellCode;
  diff?: {
    /** Endpoints only in the old model. */
    removed: string[];
    changes: ViewChange[];
    /** Row-major change indices (-1: unchanged), coded like `cells`. */
    cells: CellCode;
  };
}

/** The digits of `CellCode`: characters that need no escape in JSON, HTML or a script. */
export const CELL_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%()*+,-./:;=?@[]^_{|}~";

/** Cell values (≥ -1) as a string of `width` digits each, value + 1 in base CELL_DIGITS.length. */
export interface CellCode {
  width: number;
  text: string;
}

export function cellCode(values: readonly number[]): CellCode {
  const base = CELL_DIGITS.length;
  const top = values.reduce((m, v) => Math.max(m, v + 1), 0); // no spread: millions of cells
  let width = 1;
  while (base ** width <= top) width++;
  const digits = (v: number) => {
    let out = "";
    for (let i = 0, n = v + 1; i < width; i++, n = Math.floor(n / base)) out = CELL_DIGITS[n % base] + out;
    return out;
  };
  return { width, text: values.map(digits).join("") };
}

const WIRE_PORTS: PortSet = [{ from: 1, to: SPACE_MAX }];

/** The share of a protocol's values an outcome allows, as a heat level. */
function heatOf(o: Outcome, protocol: number): number {
  const kind = valueKind(protocol);
  const space: PortSet = kind === "ports" ? WIRE_PORTS : kind === "icmp" ? [{ from: 0, to: SPACE_MAX }] : [{ from: 0, to: 0 }];
  const allowed = intersect(o.filter((p) => p.allowed).map((p): PortRange => ({ from: p.from, to: p.to })), space);
  const n = size(allowed);
  const all = size(space);
  if (n === 0) return 0;
  if (n === all) return HEAT_LEVELS;
  const share = Math.log(n + 1) / Math.log(all + 1);
  return Math.min(HEAT_LEVELS - 1, 1 + Math.floor(share * (HEAT_LEVELS - 2)));
}

/** One line per verdict and reason: `allowed tcp/80 — network.policy[0]`. */
function outcomeLines(o: Outcome, protocol: number, other: boolean): string[] {
  const byReason = new Map<string, { allowed: boolean; why: string[]; ranges: PortRange[] }>();
  for (const p of o) {
    const why = joinWhy(p.why, p.allowed);
    const key = `${p.allowed}|${why.join(";")}`;
    const g = byReason.get(key);
    if (g) g.ranges.push({ from: p.from, to: p.to });
    else byReason.set(key, { allowed: p.allowed, why, ranges: [{ from: p.from, to: p.to }] });
  }
  const lines: string[] = [];
  for (const g of byReason.values()) {
    const values = valuesText(protocol, other, normalize(g.ranges));
    if (values.length === 0) continue;
    lines.push(`${g.allowed ? "allowed" : "denied"} ${values.join(", ")} — ${g.why.join(g.allowed ? " + " : "; ")}`);
  }
  return lines;
}

/** What `netpol diff` would say of a pair, or undefined when it says nothing (a change only off the wire or on port 0). */
function changeOf(x: PairOutcome, y: PairOutcome, protocols: readonly number[]): ViewChange | undefined {
  const lines = portChanges(x, y, protocols).map((c) => (c.change === "allowed"
    ? `+ allowed ${c.ports.join(", ")} by ${c.now.join(" + ")}`
    : `- denied  ${c.ports.join(", ")} was ${c.was.join(" + ")}, now ${c.now.join("; ")}`));
  if (lines.length === 0) return undefined;
  const marks = protocols.map(() => 0);
  for (const { protocol, index } of wireProtocols(protocols, y.family ?? x.family)) {
    for (const c of changedPieces(x.outcomes[index], y.outcomes[index])) {
      if (valueKind(protocol) !== "ports" || c.range.to > 0) marks[index] |= c.allowed ? 1 : 2;
    }
  }
  return { marks, lines };
}

/** The page's data for `after`; with `before`, also what changed (endpoints compared by name). */
export function viewData(title: string, after: PolicySet, before?: PolicySet): ViewData {
  const [a, b] = before ? analysesFor(before, after) : [undefined, new ClassAnalysis(after)];
  const protocols = b.protocols;
  const names = after.endpoints.map((e) => e.name);
  const groups: ClassGroup[] = a
    ? [
      ...classGroups(names.filter((n) => a.hasEndpoint(n)), (n) => a.classOf(n), (n) => b.classOf(n)),
      ...classGroups(names.filter((n) => !a.hasEndpoint(n)), () => -1, (n) => b.classOf(n)),
    ]
    : classGroups(names, () => -1, (n) => b.classOf(n));
  // Pair outcomes that differ only in what the page does not show (which program decided) are one entry.
  const viewOutcomes: ViewOutcome[] = [];
  const byText = new Map<string, number>();
  const byOutcome = new Map<PairOutcome, number>();
  const outcomeIndex = (o: PairOutcome): number => {
    let i = byOutcome.get(o);
    if (i === undefined) {
      const view: ViewOutcome = {
        heat: o.outcomes.map((out, pi) => heatOf(out, protocols[pi])),
        lines: o.outcomes.map((out, pi) => outcomeLines(out, protocols[pi], pi === protocols.length - 1)),
      };
      const text = JSON.stringify(view);
      i = byText.get(text);
      if (i === undefined) {
        i = viewOutcomes.length;
        viewOutcomes.push(view);
        byText.set(text, i);
      }
      byOutcome.set(o, i);
    }
    return i;
  };
  const changeKeys = new Map<PairOutcome, Map<PairOutcome, number>>();
  const changes: ViewChange[] = [];
  const changeIndex = (x: PairOutcome, y: PairOutcome): number => {
    let inner = changeKeys.get(x);
    if (!inner) changeKeys.set(x, (inner = new Map()));
    let i = inner.get(y);
    if (i === undefined) {
      const change = changeOf(x, y, protocols);
      i = change ? changes.push(change) - 1 : -1;
      inner.set(y, i);
    }
    return i;
  };
  const cells: number[] = [];
  const changed: number[] = [];
  for (const s of groups) for (const d of groups) {
    if (s === d && s.members.length === 1) {
      cells.push(SAME_ENDPOINT);
      changed.push(-1);
      continue;
    }
    const y = b.pair(s.newClass, d.newClass);
    cells.push(outcomeIndex(y));
    if (!a || s.oldClass < 0 || d.oldClass < 0) {
      changed.push(-1);
      continue;
    }
    const x = a.pair(s.oldClass, d.oldClass);
    changed.push(x.verdictKey === y.verdictKey ? -1 : changeIndex(x, y));
  }
  return {
    title,
    protocols: protocols.map((p, i) => protocolText(p, i === protocols.length - 1)),
    groups: groups.map((g) => ({ label: groupText(g.members, names), members: g.members, ...(a && g.oldClass < 0 ? { added: true } : {}) })),
    outcomes: viewOutcomes,
    cells: cellCode(cells),
    ...(before ? {
      diff: {
        removed: before.endpoints.map((e) => e.name).filter((n) => !b.hasEndpoint(n)),
        changes,
        cells: cellCode(changed),
      },
    } : {}),
  };
}
