/**
 * The reachability matrix: every ordered pair of endpoints, for each probe. Computed per pair of
 * classes (classes.ts), so the work grows with the number of classes, not of endpoint pairs; the
 * text is produced row by row, so a caller can write it out without holding it (a matrix of 3,000
 * endpoints is 9 million cells, 190 MB of JSON).
 */
import { PolicySet } from "../ir";
import { ClassAnalysis } from "./classes";
import { Probe } from "./probe";

export type Matrix = Record<string, Record<string, boolean>>;

export interface MatrixReport {
  probes: { probe: string; matrix: Matrix }[];
}

/** For one probe, a source's verdict to every endpoint (by column), each class pair computed once. */
function classRows(policySet: PolicySet, probe: Probe, classes: ClassAnalysis) {
  const classOf = policySet.endpoints.map((e) => classes.classOf(e.name));
  const verdict = classes.verdicts(probe);
  const k = classes.classes.length;
  return {
    classOf,
    /** Whether a source of class `s` reaches each endpoint, its own members included (distinct endpoints). */
    row(s: number): Uint8Array {
      const byClass = new Int8Array(k).fill(-1);
      return Uint8Array.from(classOf, (d) => {
        if (byClass[d] < 0) byClass[d] = verdict(s, d) ? 1 : 0;
        return byClass[d];
      });
    },
  };
}

/**
 * Each endpoint's row of one probe's matrix as text, in model order. A class's verdicts are computed
 * once (and kept until its last member's row is out); the text is written per member, with its own
 * cell allowed: keeping each class's text instead took as much CPU and 90 MB more at 3,000 endpoints.
 */
function* rowTexts(policySet: PolicySet, probe: Probe, classes: ClassAnalysis, cell: (j: number, allowed: boolean) => string, separator: string): Generator<string> {
  const { classOf, row } = classRows(policySet, probe, classes);
  const lastMember = new Map<number, number>();
  classOf.forEach((c, i) => lastMember.set(c, i));
  const kept = new Map<number, Uint8Array>();
  for (let i = 0; i < classOf.length; i++) {
    const s = classOf[i];
    let verdicts = kept.get(s);
    if (!verdicts) {
      verdicts = row(s);
      if (lastMember.get(s) !== i) kept.set(s, verdicts);
    } else if (lastMember.get(s) === i) {
      kept.delete(s);
    }
    yield Array.from(verdicts, (v, j) => cell(j, v === 1 || j === i)).join(separator);
  }
}

export function matrix(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): MatrixReport {
  const names = policySet.endpoints.map((e) => e.name);
  return {
    probes: probes.map((probe) => {
      const { classOf, row } = classRows(policySet, probe, classes);
      const m: Matrix = {};
      names.forEach((from, i) => {
        const verdicts = row(classOf[i]);
        const cells: Record<string, boolean> = {};
        names.forEach((to, j) => { cells[to] = i === j || verdicts[j] === 1; });
        m[from] = cells;
      });
      return { probe: probe.text, matrix: m };
    }),
  };
}

/**
 * `matrix(...)` as JSON text, one piece per row: `{"probes":[{"probe":"tcp/80","matrix":{"<from>":{"<to>":true|false}}}]}`
 * on one line, without the final line break.
 */
export function* matrixJsonPieces(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): Generator<string> {
  const keys = policySet.endpoints.map((e) => JSON.stringify(e.name));
  const allowedCell = keys.map((k) => `${k}:true`);
  const deniedCell = keys.map((k) => `${k}:false`);
  const cell = (j: number, allowed: boolean) => (allowed ? allowedCell[j] : deniedCell[j]);
  yield `{"probes":[`;
  for (let p = 0; p < probes.length; p++) {
    yield `${p > 0 ? "," : ""}{"probe":${JSON.stringify(probes[p].text)},"matrix":{`;
    let i = 0;
    for (const text of rowTexts(policySet, probes[p], classes, cell, ",")) {
      yield `${i > 0 ? "," : ""}${keys[i]}:{${text}}`;
      i++;
    }
    yield "}}";
  }
  yield "]}";
}

/**
 * A fixed-width table, one line per piece (each ending in a line break): rows are sources, columns
 * destinations, `.` allowed and `X` denied; a blank line between probes.
 */
export function* matrixTableLines(policySet: PolicySet, probes: readonly Probe[], classes = new ClassAnalysis(policySet)): Generator<string> {
  const names = policySet.endpoints.map((e) => e.name);
  const width = Math.max(4, ...names.map((n) => n.length));
  const cell = (_j: number, allowed: boolean) => (allowed ? "." : "X");
  for (let p = 0; p < probes.length; p++) {
    if (p > 0) yield "\n";
    yield `${probes[p].text}  (rows: from, columns: to; "." allowed, "X" denied)\n`;
    for (let i = 0; i < names.length; i++) yield `${" ".repeat(width + 2)}${"| ".repeat(i)}${i + 1}: ${names[i]}\n`;
    yield `${`${" ".repeat(width + 2)}${names.map((_, i) => String(i + 1).padEnd(2)).join("")}`.trimEnd()}\n`;
    let i = 0;
    for (const text of rowTexts(policySet, probes[p], classes, cell, " ")) {
      yield `${`${names[i].padEnd(width)}  ${text}`.trimEnd()}\n`;
      i++;
    }
  }
}
