/** The reachability matrix: every ordered pair of endpoints, for each probe. */
import { PolicySet } from "../ir";
import { Probe } from "./probe";
import { Analyzer } from "./reach";

export type Matrix = Record<string, Record<string, boolean>>;

export interface MatrixReport {
  probes: { probe: string; matrix: Matrix }[];
}

export function matrix(policySet: PolicySet, probes: readonly Probe[], analyzer = new Analyzer(policySet)): MatrixReport {
  const names = analyzer.endpointNames();
  return {
    probes: probes.map((probe) => {
      const m: Matrix = {};
      for (const from of names) {
        const row: Record<string, boolean> = {};
        for (const to of names) row[to] = analyzer.reach(from, to, probe).allowed;
        m[from] = row;
      }
      return { probe: probe.text, matrix: m };
    }),
  };
}

/** A fixed-width table: rows are sources, columns destinations, `.` allowed and `X` denied. */
export function formatMatrixTable(report: MatrixReport): string {
  const out: string[] = [];
  for (const { probe, matrix: m } of report.probes) {
    const names = Object.keys(m);
    const width = Math.max(4, ...names.map((n) => n.length));
    out.push(`${probe}  (rows: from, columns: to; "." allowed, "X" denied)`);
    names.forEach((n, i) => out.push(`${" ".repeat(width + 2)}${"| ".repeat(i)}${i + 1}: ${n}`));
    out.push(`${" ".repeat(width + 2)}${names.map((_, i) => String(i + 1).padEnd(2)).join("")}`.trimEnd());
    for (const from of names) {
      out.push(`${from.padEnd(width)}  ${names.map((to) => (m[from][to] ? ". " : "X ")).join("")}`.trimEnd());
    }
    out.push("");
  }
  return out.join("\n");
}
