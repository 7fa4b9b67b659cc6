/**
 * The reachability matrix: every ordered pair of endpoints, for each probe. Computed per pair of
 * classes (classes.ts), so the work grows with the number of classes, not of endpoint pairs.
 */
import { PolicySet } from "../ir";
import { ClassAnalysis, PairOutcome } from "./classes";
import { Probe } from "./probe";

export type Matrix = Record<string, Record<string, boolean>>;

export interface MatrixReport {
  probes: { probe: string; matrix: Matrix }[];
}

/** For one probe, whether class `s` may reach class `d` (distinct endpoints), computed once per pair. */
export function classVerdicts(classes: ClassAnalysis, probe: Probe): (s: number, d: number) => boolean {
  const k = classes.classes.length;
  const table = new Uint8Array(k * k <= 1 << 26 ? k * k : 0);
  const byOutcome = new Map<PairOutcome, boolean>();
  const compute = (s: number, d: number) => {
    const outcome = classes.pair(s, d);
    let allowed = byOutcome.get(outcome);
    if (allowed === undefined) {
      allowed = classes.pieceFor(outcome, probe).allowed;
      byOutcome.set(outcome, allowed);
    }
    return allowed;
  };
  if (table.length === 0) return compute;
  return (s, d) => {
    const slot = s * k + d;
    if (table[slot] === 0) table[slot] = compute(s, d) ? 2 : 1;
    return table[slot] === 2;
  };
}

export function matrix(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): MatrixReport {
  const names = policySet.endpoints.map((e) => e.name);
  const classOf = names.map((n) => classes.classOf(n));
  return {
    probes: probes.map((probe) => {
      const verdict = classVerdicts(classes, probe);
      const m: Matrix = {};
      names.forEach((from, i) => {
        const row: Record<string, boolean> = {};
        names.forEach((to, j) => { row[to] = i === j || verdict(classOf[i], classOf[j]); });
        m[from] = row;
      });
      return { probe: probe.text, matrix: m };
    }),
  };
}

/** `matrix(...)` as JSON text, written row by row (a matrix of 3,000 endpoints is 9 million cells). */
export function matrixJson(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): string {
  const names = policySet.endpoints.map((e) => e.name);
  const keys = names.map((n) => JSON.stringify(n));
  const allowedCell = keys.map((k) => `${k}:true`);
  const deniedCell = keys.map((k) => `${k}:false`);
  const classOf = names.map((n) => classes.classOf(n));
  const parts = probes.map((probe) => {
    const verdict = classVerdicts(classes, probe);
    const rows = names.map((_, i) => {
      const cells = new Array<string>(names.length);
      for (let j = 0; j < names.length; j++) cells[j] = i === j || verdict(classOf[i], classOf[j]) ? allowedCell[j] : deniedCell[j];
      return `${keys[i]}:{${cells.join(",")}}`;
    });
    return `{"probe":${JSON.stringify(probe.text)},"matrix":{${rows.join(",")}}}`;
  });
  return `{"probes":[${parts.join(",")}]}`;
}

/** A fixed-width table: rows are sources, columns destinations, `.` allowed and `X` denied. */
export function formatMatrixTable(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): string {
  const names = policySet.endpoints.map((e) => e.name);
  const classOf = names.map((n) => classes.classOf(n));
  const out: string[] = [];
  const width = Math.max(4, ...names.map((n) => n.length));
  for (const probe of probes) {
    const verdict = classVerdicts(classes, probe);
    out.push(`${probe.text}  (rows: from, columns: to; "." allowed, "X" denied)`);
    names.forEach((n, i) => out.push(`${" ".repeat(width + 2)}${"| ".repeat(i)}${i + 1}: ${n}`));
    out.push(`${" ".repeat(width + 2)}${names.map((_, i) => String(i + 1).padEnd(2)).join("")}`.trimEnd());
    names.forEach((from, i) => {
      const cells = names.map((_, j) => (i === j || verdict(classOf[i], classOf[j]) ? ". " : "X "));
      out.push(`${from.padEnd(width)}  ${cells.join("")}`.trimEnd());
    });
    out.push("");
  }
  return out.join("\n");
}
