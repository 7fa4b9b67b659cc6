import { fleet } from "../../bench/generate";
import { ClassAnalysis } from "../../provider/analyze/classes";
import { matrix, matrixJsonPieces, matrixTableLines } from "../../provider/analyze/matrix";
import { Probe } from "../../provider/analyze/probe";
import { Analyzer } from "../../provider/analyze/reach";
import { compile } from "../../provider/compile";
import { PolicySet } from "../../provider/ir";
import { parseModel } from "../../provider/model/model";
import { compiledExample, probe } from "../support/models";
import { randomPolicySet } from "../render/random-policy";

/** The matrix as it was written before rows were shared: every cell from the pair outcome (`allowed`). */
function cellByCell(ps: PolicySet, probes: readonly Probe[]) {
  const classes = new ClassAnalysis(ps);
  const names = ps.endpoints.map((e) => e.name);
  const cell = (p: Probe, from: string, to: string) => from === to || classes.allowed(from, to, p);
  const json = `{"probes":[${probes.map((p) => `{"probe":${JSON.stringify(p.text)},"matrix":{${names.map((from) =>
    `${JSON.stringify(from)}:{${names.map((to) => `${JSON.stringify(to)}:${cell(p, from, to)}`).join(",")}}`).join(",")}}}`).join(",")}]}`;
  const width = Math.max(4, ...names.map((n) => n.length));
  const table = probes.map((p) => [
    `${p.text}  (rows: from, columns: to; "." allowed, "X" denied)`,
    ...names.map((n, i) => `${" ".repeat(width + 2)}${"| ".repeat(i)}${i + 1}: ${n}`),
    `${" ".repeat(width + 2)}${names.map((_, i) => String(i + 1).padEnd(2)).join("")}`.trimEnd(),
    ...names.map((from) => `${from.padEnd(width)}  ${names.map((to) => (cell(p, from, to) ? ". " : "X ")).join("")}`.trimEnd()),
    "",
  ].join("\n")).join("\n");
  return { json, table };
}

/** Classes of more than one member whose members may not reach each other: their rows need the own cell patched. */
function selfDenyingClasses(ps: PolicySet, p: Probe): number {
  const classes = new ClassAnalysis(ps);
  const verdict = classes.verdicts(p);
  return classes.classes.filter((c) => c.members.length > 1 && !verdict(c.index, c.index)).length;
}

const SEEDS = ["rancher-stack-isolation.yaml", "rancher-label-isolation.yaml", "rancher-container-isolation.yaml", "calico-web-app.yaml", "kubernetes-seed.yaml", "kubernetes-seed-v1beta1.yaml"];
const SEED_PROBES = ["tcp/80", "tcp/6379", "udp/53", "icmp/8"].map(probe);

describe("the streamed matrix is the cell-by-cell matrix, byte for byte", () => {
  test.each(SEEDS)("%s, json and table", (name) => {
    const ps = compiledExample(name);
    const expected = cellByCell(ps, SEED_PROBES);
    expect([...matrixJsonPieces(ps, SEED_PROBES)].join("")).toBe(expected.json);
    expect([...matrixTableLines(ps, SEED_PROBES)].join("")).toBe(expected.table);
  });

  test("the seeds have classes whose members deny each other (the patched own cell is exercised)", () => {
    expect(selfDenyingClasses(compiledExample("rancher-container-isolation.yaml"), probe("tcp/80"))).toBeGreaterThan(0);
  });

  test("the compile fleet of 1,000 endpoints (stacks and groups cross), tcp/80 and icmp/8", () => {
    const ps = compile(parseModel(fleet({ endpoints: 1000, hosts: 20, groups: 50, kubernetesPolicies: 40 })));
    const probes = ["tcp/80", "icmp/8"].map(probe);
    expect(new ClassAnalysis(ps).classes.length).toBeGreaterThan(100);
    expect([...matrixJsonPieces(ps, probes)].join("")).toBe(cellByCell(ps, probes).json);
  });

  test.each(Array.from({ length: 60 }, (_, i) => i + 1))("random policy set %i, json and the matrix object", (seed) => {
    const ps = randomPolicySet(seed);
    const probes = ["tcp/80", "tcp/23", "udp/53", "icmp/8", "icmpv6/128"].map(probe);
    const expected = cellByCell(ps, probes);
    expect([...matrixJsonPieces(ps, probes)].join("")).toBe(expected.json);
    expect(JSON.stringify(matrix(ps, probes))).toBe(expected.json);
  });
});

describe("class verdicts", () => {
  test.each(Array.from({ length: 100 }, (_, i) => i + 1))("random policy set %i: verdicts(probe) equals reach() for every pair of distinct endpoints", (seed) => {
    const ps = randomPolicySet(seed);
    const analyzer = new Analyzer(ps);
    const classes = new ClassAnalysis(ps);
    const differing: string[] = [];
    for (const p of ["tcp/80", "tcp/65535", "udp/53", "icmp/8", "icmp/3/3", "icmpv6/128"].map(probe)) {
      const verdict = classes.verdicts(p);
      for (const from of ps.endpoints) for (const to of ps.endpoints) {
        if (from === to) continue;
        const got = verdict(classes.classOf(from.name), classes.classOf(to.name));
        if (got !== analyzer.reach(from.name, to.name, p).allowed) differing.push(`${from.name} → ${to.name} ${p.text}: verdicts say ${got}`);
      }
    }
    expect(differing).toEqual([]);
  });
});
