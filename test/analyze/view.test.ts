import { ClassAnalysis } from "../../provider/analyze/classes";
import { diffPolicySets } from "../../provider/analyze/diff";
import { Probe } from "../../provider/analyze/probe";
import { CELL_DIGITS, CellCode, cellCode, HEAT_LEVELS, SAME_ENDPOINT, ViewData, viewData } from "../../provider/analyze/view";
import { PolicySet } from "../../provider/ir";
import { compiledExample, probe } from "../support/models";
import { PROBES, randomPolicySet } from "../render/random-policy";

/** The page's cells, one value per (row, column). */
function decode(code: CellCode): number[] {
  const flat: number[] = [];
  for (let k = 0; k < code.text.length; k += code.width) {
    flat.push([...code.text.slice(k, k + code.width)].reduce((v, c) => v * CELL_DIGITS.length + CELL_DIGITS.indexOf(c), 0) - 1);
  }
  return flat;
}

function expand(data: ViewData, code: CellCode): number[][] {
  const flat = decode(code);
  const n = data.groups.length;
  expect(flat).toHaveLength(n * n);
  return Array.from({ length: n }, (_, s) => flat.slice(s * n, (s + 1) * n));
}

/** Every ordered pair of distinct endpoints a cell stands for. */
function pairsOf(data: ViewData, s: number, d: number): string[] {
  return data.groups[s].members.flatMap((f) => data.groups[d].members.filter((t) => t !== f).map((t) => `${f} → ${t}`));
}

const PORT_PROBES: Probe[] = [...PROBES.filter((p) => p.port !== undefined).map(({ srcPort: _srcPort, ...p }) => p), probe("tcp/443"), probe("udp/53")];

/** The page agrees with the analysis: heat 0 is denied and full heat allowed for every probe; marks match the verdicts that changed. */
function expectAgreement(after: PolicySet, before?: PolicySet) {
  const data = viewData("t", after, before);
  const cells = expand(data, data.cells);
  const changed = data.diff ? expand(data, data.diff.cells) : undefined;
  const [a, b] = [before && new ClassAnalysis(before), new ClassAnalysis(after)];
  const wrong: string[] = [];
  data.groups.forEach((gs, s) => data.groups.forEach((gd, d) => {
    const o = cells[s][d];
    if (o === SAME_ENDPOINT) {
      if (s !== d || gs.members.length !== 1) wrong.push(`${s},${d}: same endpoint`);
      return;
    }
    for (const p of PORT_PROBES) {
      const pi = data.protocols.indexOf(p.text.split("/")[0]);
      for (const f of gs.members) for (const t of gd.members) {
        if (f === t) continue;
        const now = b.allowed(f, t, p);
        const heat = data.outcomes[o].heat[pi];
        if ((heat === 0 && now) || (heat === HEAT_LEVELS && !now)) wrong.push(`${f} → ${t} ${p.text}: heat ${heat}, allowed ${now}`);
        if (!a || !changed || !a.hasEndpoint(f) || !a.hasEndpoint(t)) continue;
        const was = a.allowed(f, t, p);
        const mark = changed[s][d] < 0 ? 0 : data.diff?.changes[changed[s][d]].marks[pi] ?? 0;
        if (was !== now && (mark & (now ? 1 : 2)) === 0) wrong.push(`${f} → ${t} ${p.text}: ${was} → ${now} not marked (${mark})`);
      }
    }
  }));
  expect(wrong).toEqual([]);
  return data;
}

describe("view data", () => {
  test.each([[[-1, 0, 85], 1], [[-1, 86, 7000], 2], [[7568, 0], 3]])("cells %j take %i character(s) each and read back", (values, width) => {
    const code = cellCode(values);
    expect(code.width).toBe(width);
    expect(code.text).toHaveLength(values.length * width);
    expect(decode(code)).toEqual(values);
  });

  test("two million cells (1,400 classes) are coded without running out of stack", () => {
    const code = cellCode(Array.from({ length: 1400 * 1400 }, (_, k) => k % 200));
    expect(code.width).toBe(2);
    expect(code.text).toHaveLength(2 * 1400 * 1400);
  });

  test.each(Array.from({ length: 40 }, (_, i) => i + 1))("random policy set %i, and its change to the next one", (seed) => {
    expectAgreement(randomPolicySet(seed));
    const data = expectAgreement(randomPolicySet(seed + 1), randomPolicySet(seed));
    // The marked cells are exactly the pairs netpol diff lists.
    const d = diffPolicySets(randomPolicySet(seed), randomPolicySet(seed + 1));
    const listed = new Set(d.changes.flatMap((c) => c.from.flatMap((f) => c.to.filter((t) => t !== f).map((t) => `${f} → ${t}`))));
    const changed = expand(data, data.diff?.cells ?? { width: 1, text: "" });
    const marked = new Set(data.groups.flatMap((_, s) => data.groups.flatMap((__, t) => (changed[s][t] >= 0 ? pairsOf(data, s, t) : []))));
    expect([...marked].sort()).toEqual([...listed].sort());
  });

  test("the Kubernetes seed: one group per class, tcp/6379 only is the lowest partial heat, the rule in the model's words", () => {
    const data = viewData("seed", compiledExample("kubernetes-seed.yaml"));
    expect(data.groups.map((g) => g.label)).toEqual(["default/db", "default/frontend", "default/other, other/client (2 endpoints)", "myproject/client"]);
    const cells = expand(data, data.cells);
    const tcp = data.protocols.indexOf("tcp");
    const frontendToDb = data.outcomes[cells[1][0]];
    expect(frontendToDb.heat[tcp]).toBe(1);
    expect(frontendToDb.heat[data.protocols.indexOf("udp")]).toBe(0);
    expect(frontendToDb.lines[tcp]).toContain("allowed tcp/6379 — networkPolicies[0].spec.ingress[0].from[1]");
    expect(data.outcomes[cells[0][1]].lines[tcp]).toEqual(["allowed tcp/* — not filtered"]);
    // Two endpoints of one class: the cell is their pair, not "same endpoint".
    expect(cells[2][2]).not.toBe(SAME_ENDPOINT);
    expect(cells[0][0]).toBe(SAME_ENDPOINT);
  });

  test("--diff: endpoints of only one model are an added group and a removed name, their cells unmarked", () => {
    const before = compiledExample("rancher-stack-isolation.yaml");
    const after: PolicySet = { ...before, endpoints: before.endpoints.slice(1).concat({ ...before.endpoints[0], name: "stack_one/service_new" }) };
    const data = viewData("t", after, { ...before });
    expect(data.diff?.removed).toEqual(["stack_one/service_one"]);
    const added = data.groups.findIndex((g) => g.added);
    expect(data.groups[added].members).toEqual(["stack_one/service_new"]);
    const changed = expand(data, data.diff?.cells ?? { width: 1, text: "" });
    expect(changed[added].every((c) => c === -1) && changed.every((row) => row[added] === -1)).toBe(true);
  });
});
