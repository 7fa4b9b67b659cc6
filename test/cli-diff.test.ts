import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./support/models";
import { runCli, tempFile } from "./support/cli";

type Matrix = Record<string, Record<string, boolean>>;
const model = (name: string) => path.join(ROOT, "examples/models", name);
const kubernetesAfter = tempFile("kubernetes-seed-6380.yaml", fs.readFileSync(model("kubernetes-seed.yaml"), "utf8").replace("port: 6379", "port: 6380"));
const PROBES = ["tcp/80", "tcp/443", "tcp/6379", "tcp/6380", "tcp/7890", "udp/53", "icmp/8"];
const probeArgs = PROBES.flatMap((p) => ["--probe", p]);

async function reachMatrices(file: string): Promise<Record<string, Matrix>> {
  const r = await runCli(["reach", file, "--format", "json", ...probeArgs]);
  expect(r.code).toBe(0);
  return Object.fromEntries((JSON.parse(r.out) as { probes: { probe: string; matrix: Matrix }[] }).probes.map((p) => [p.probe, p.matrix]));
}

/** The cells whose verdict differs between two reach matrices, with the new verdict. */
function changedCells(before: Matrix, after: Matrix): Matrix {
  const out: Matrix = {};
  for (const from of Object.keys(after)) for (const to of Object.keys(after[from])) {
    if (before[from]?.[to] !== undefined && before[from][to] !== after[from][to]) (out[from] ??= {})[to] = after[from][to];
  }
  return out;
}

const SEED_PAIRS: [string, string][] = [
  [model("rancher-stack-isolation.yaml"), model("rancher-label-isolation.yaml")],
  [model("rancher-label-isolation.yaml"), model("rancher-container-isolation.yaml")],
  [model("rancher-stack-isolation.yaml"), model("rancher-container-isolation.yaml")],
  [model("rancher-container-isolation.yaml"), model("rancher-stack-isolation.yaml")],
  [path.join(ROOT, "test/fixtures/analyze/calico-web-app-before.yaml"), model("calico-web-app.yaml")],
  [model("kubernetes-seed.yaml"), kubernetesAfter],
  [model("kubernetes-seed-v1beta1.yaml"), model("kubernetes-seed.yaml")],
];

describe("netpol diff", () => {
  test.each(SEED_PAIRS)("%s → %s: matrix-json equals comparing the two reach matrices, cell by cell", async (before, after) => {
    const [m0, m1] = [await reachMatrices(before), await reachMatrices(after)];
    const r = await runCli(["diff", before, after, "--format", "matrix-json", ...probeArgs]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ probes: PROBES.map((p) => ({ probe: p, changed: changedCells(m0[p], m1[p]) })) });
  });

  test("stack → container isolation: grouped by stack, names the rule and the default", async () => {
    const r = await runCli(["diff", model("rancher-stack-isolation.yaml"), model("rancher-container-isolation.yaml")]);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toMatch(/^- denied {3}stack_one\/\* \(3 endpoints\) → stack_one\/\* \(3 endpoints\) +all traffic {3}was network\.policy\[0\], now default deny \(network\.defaultPolicyAction\)$/);
    expect(r.out.trim().split("\n")).toHaveLength(3);
  });

  test("a port change: tcp/6379 closed, tcp/6380 opened, by the policy's rule", async () => {
    const r = await runCli(["diff", model("kubernetes-seed.yaml"), kubernetesAfter, "--format", "json"]);
    const d = JSON.parse(r.out) as { changes: { change: string; ports: string[]; was: string[]; now: string[] }[]; added: string[]; removed: string[] };
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(new Set(d.changes.map((c) => `${c.change} ${c.ports.join(",")}`))).toEqual(new Set(["allowed tcp/6380", "denied tcp/6379"]));
    for (const c of d.changes.filter((x) => x.change === "allowed")) expect(c.now.join(" ")).toMatch(/networkPolicies\[0\]\.spec\.ingress\[0\]/);
  });

  test("no change: exit 0, also with --exit-code; a change with --exit-code: exit 1", async () => {
    const same = await runCli(["diff", model("calico-web-app.yaml"), model("calico-web-app.yaml"), "--exit-code"]);
    expect(same).toEqual({ code: 0, out: "no change in who may reach whom\n", err: "" });
    expect((await runCli(["diff", model("rancher-stack-isolation.yaml"), model("rancher-label-isolation.yaml")])).code).toBe(0);
    expect((await runCli(["diff", model("rancher-stack-isolation.yaml"), model("rancher-label-isolation.yaml"), "--exit-code"])).code).toBe(1);
  });

  test("endpoints in only one file are added / removed, not changes", async () => {
    const text = fs.readFileSync(model("rancher-stack-isolation.yaml"), "utf8");
    const fewer = tempFile("fewer.yaml", text.split("\n").filter((l) => !l.includes("stack_three/service_two")).join("\n"));
    const r = await runCli(["diff", model("rancher-stack-isolation.yaml"), fewer]);
    expect(r.out).toBe("- endpoint stack_three/service_two (only in the old model)\n");
    const back = await runCli(["diff", fewer, model("rancher-stack-isolation.yaml"), "--format", "matrix-json", "--probe", "tcp/80"]);
    expect(JSON.parse(back.out)).toEqual({ probes: [{ probe: "tcp/80", changed: {} }] });
  });

  test("matrix-json needs --probe", async () => {
    const r = await runCli(["diff", model("calico-web-app.yaml"), model("calico-web-app.yaml"), "--format", "matrix-json"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--format matrix-json needs at least one --probe");
  });
});
