/**
 * End to end through the real SSH path: each seed scenario is applied with `netpol apply` to a lab
 * of network-namespace hosts (real sshd, real nftables / iptables), the reachability matrix is
 * measured with real packets and compared with `netpol reach`, cell by cell; then the policy
 * changes, and destroy leaves every path open and nothing of ours behind.
 */
import * as fs from "node:fs";
import { parse } from "yaml";
import { requireLabPrerequisites, Lab } from "../lab/lab";
import { ModelInput } from "../../provider/model/model";
import { runCli } from "../support/cli";
import { ROOT } from "../support/models";
import { labFor, reachMatrix, writeLabModel } from "./lab-model";

const load = (name: string): ModelInput => parse(fs.readFileSync(`${ROOT}/examples/models/${name}`, "utf8"));

async function expectMeasuredEqualsReach(lab: Lab, file: string, probes: string[]) {
  const measured = await lab.measureMatrix(probes);
  expect(measured).toEqual(await reachMatrix(file, probes, { allowStderr: true }));
}

async function ourTables(lab: Lab, hosts: string[]): Promise<string> {
  const out: string[] = [];
  for (const h of hosts) {
    const r = await lab.exec(h, ["nft", "list", "tables"], { check: false });
    out.push(...r.stdout.split("\n").filter((l) => l.includes("netpol_")));
    const ipt = await lab.exec(h, ["iptables-save"], { check: false });
    out.push(...ipt.stdout.split("\n").filter((l) => /NETPOL_/i.test(l)));
  }
  return out.join("\n");
}

beforeAll(async () => {
  await requireLabPrerequisites();
});

describe.each([["nftables" as const], ["iptables" as const]])("Rancher seeds on %s hosts", (backend) => {
  let lab: Lab;
  const stack = load("rancher-stack-isolation.yaml");
  const label = load("rancher-label-isolation.yaml");
  const container = load("rancher-container-isolation.yaml");
  beforeAll(async () => { lab = await labFor(stack); }, 120_000);
  afterAll(async () => { await lab?.destroy(); });

  test("stack isolation → label isolation → container isolation → destroy", async () => {
    const probes = ["tcp/80", "icmp/8"];
    const stackFile = writeLabModel(stack, lab, backend);
    let r = await runCli(["apply", stackFile]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("3 host(s), 3 changed");
    await expectMeasuredEqualsReach(lab, stackFile, probes);

    // Idempotent: a second apply writes nothing.
    r = await runCli(["apply", stackFile]);
    expect(r.out).toContain("0 changed, 3 up to date");

    // The same network, new rules: plan shows the change, apply converges.
    const labelFile = writeLabModel({ ...label, name: stack.name }, lab, backend);
    r = await runCli(["plan", labelFile]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/h1: update — \d+ line\(s\) added, \d+ removed/);
    r = await runCli(["apply", labelFile]);
    expect(r.code).toBe(0);
    await expectMeasuredEqualsReach(lab, labelFile, probes);
    r = await runCli(["status", labelFile]);
    expect(r.out).toBe("h1: in sync\nh2: in sync\nh3: in sync\n");

    const containerFile = writeLabModel({ ...container, name: stack.name }, lab, backend);
    expect((await runCli(["apply", containerFile])).code).toBe(0);
    await expectMeasuredEqualsReach(lab, containerFile, ["udp/53"]);

    r = await runCli(["destroy", containerFile]);
    expect(r.code).toBe(0);
    const open = await lab.measureMatrix(["tcp/80"]);
    for (const row of Object.values(open["tcp/80"])) for (const cell of Object.values(row)) expect(cell).toBe(true);
    expect(await ourTables(lab, ["h1", "h2", "h3"])).toBe("");
  }, 300_000);
});

describe("Kubernetes and Calico seeds on nftables hosts", () => {
  test.each([
    ["kubernetes-seed.yaml", ["tcp/6379", "tcp/80"]],
    ["kubernetes-seed-v1beta1.yaml", ["tcp/6379", "tcp/80"]],
    ["calico-web-app.yaml", ["tcp/80", "tcp/443", "tcp/7890", "icmp/8"]],
  ])("%s: measured matrix equals reach", async (name, probes) => {
    const model = load(name);
    const lab = await labFor(model);
    try {
      const file = writeLabModel(model, lab);
      const r = await runCli(["apply", file]);
      expect(r.err).toBe("");
      await expectMeasuredEqualsReach(lab, file, probes);
      expect((await runCli(["destroy", file])).code).toBe(0);
      expect(await ourTables(lab, (model.hosts ?? []).map((h) => h.name))).toBe("");
    } finally {
      await lab.destroy();
    }
  }, 300_000);
});

describe("drift", () => {
  test("a hand edit shows as drift in status and apply --force repairs it; another tool's table survives", async () => {
    const model = load("rancher-stack-isolation.yaml");
    const lab = await labFor(model);
    try {
      const file = writeLabModel(model, lab);
      expect((await runCli(["apply", file])).code).toBe(0);
      await lab.exec("h1", ["nft", "-f", "-"], { stdin: "table inet othertool {\n  chain c {\n    type filter hook forward priority 10; policy accept;\n  }\n}\n" });
      const table = (await runCli(["render", file, "--host", "h1"])).out.split(" ")[2];
      const listed = (await lab.exec("h1", ["nft", "list", "table", "inet", table])).stdout;
      // The kernel keeps the comments: the host's own listing reads in the model's words.
      expect(listed).toContain('comment "rancher network policy, else drop"');
      expect(listed).toContain(`${lab.endpoint("stack_one/service_one").ipv4} comment "stack_one/service_one" : jump t_`);
      const chain = /chain (t_[0-9a-f]+) \{/.exec(listed)?.[1] ?? "";
      await lab.exec("h1", ["nft", "insert", "rule", "inet", table, chain, "return"]);
      let r = await runCli(["status", file]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/h1: drift: the rules were edited on the host/);
      expect(r.out).toContain("h2: in sync");
      r = await runCli(["apply", file, "--force"]);
      expect(r.code).toBe(0);
      r = await runCli(["status", file]);
      expect(r.out).toContain("h1: in sync");
      await expectMeasuredEqualsReach(lab, file, ["tcp/80"]);
      expect((await runCli(["destroy", file])).code).toBe(0);
      expect((await lab.exec("h1", ["nft", "list", "tables"])).stdout).toContain("table inet othertool");
    } finally {
      await lab.destroy();
    }
  }, 300_000);
});
