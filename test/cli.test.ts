import * as path from "node:path";
import { ROOT } from "./support/models";
import { stringify } from "yaml";
import { runCli, tempFile } from "./support/cli";

const model = (name: string) => path.join(ROOT, "examples/models", name);
const stack = model("rancher-stack-isolation.yaml");

describe("netpol reach", () => {
  test("--format json prints exactly the documented shape, every endpoint at both levels", async () => {
    const r = await runCli(["reach", stack, "--probe", "tcp/80", "--probe", "icmp/8", "--format", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc)).toEqual(["probes"]);
    expect(doc.probes.map((p: { probe: string }) => p.probe)).toEqual(["tcp/80", "icmp/8"]);
    const m = doc.probes[0].matrix;
    const names = Object.keys(m);
    expect(names).toHaveLength(7);
    for (const from of names) {
      expect(Object.keys(m[from])).toEqual(names);
      for (const to of names) expect(m[from][to]).toBe(from.split("/")[0] === to.split("/")[0]);
    }
    expect(r.out.trim()).toBe(JSON.stringify(doc));
  });

  test("table format marks allowed and denied cells", async () => {
    const r = await runCli(["reach", stack, "--probe", "tcp/80"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("stack_one/service_one    . . . X X X X");
  });
});

describe("netpol explain", () => {
  test("names the deciding rule by its path", async () => {
    const r = await runCli(["explain", stack, "--from", "stack_one/service_one", "--to", "stack_one/service_two", "--probe", "tcp/80"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("ALLOWED");
    expect(r.out).toContain("rule network.policy[0]");
  });

  test("names the default that denies", async () => {
    const r = await runCli(["explain", stack, "--from", "stack_one/service_one", "--to", "stack_two/service_one", "--probe", "udp/53"]);
    expect(r.out).toContain("DENIED");
    expect(r.out).toContain("network.defaultPolicyAction decides");
  });
});

describe("exit codes and help", () => {
  const usage: [string, string[], string][] = [
    ["no command", [], "Usage: netpol"],
    ["unknown command", ["frobnicate"], 'unknown command "frobnicate"'],
    ["unknown option", ["reach", stack, "--probes", "tcp/80"], 'unknown option "--probes"'],
    ["missing probe", ["reach", stack], "give at least one --probe"],
    ["bad probe", ["reach", stack, "--probe", "tcp/0"], "the port must be 1-65535"],
    ["bad probe syntax", ["reach", stack, "--probe", "http"], "is not a probe"],
    ["bad format", ["reach", stack, "--probe", "tcp/80", "--format", "xml"], "--format must be"],
    ["missing file argument", ["validate"], "give exactly one model FILE"],
    ["unknown endpoint", ["explain", stack, "--from", "nope", "--to", "stack_one/service_two", "--probe", "tcp/80"], 'no endpoint named "nope"'],
    ["option without value", ["explain", stack, "--from"], "--from needs a value"],
  ];
  test.each(usage)("%s → exit 2", async (_what, argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  test("a missing file → exit 1 naming it", async () => {
    const r = await runCli(["validate", "/nonexistent/model.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("/nonexistent/model.yaml: cannot read the file");
  });

  test.each(["validate", "reach", "explain"])("netpol %s --help", async (cmd) => {
    const r = await runCli([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: netpol ${cmd}`);
  });

  test("netpol --help lists the commands", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of ["validate", "reach", "explain"]) expect(r.out).toContain(`  ${cmd}`);
  });
});

describe("warnings for policies that do nothing", () => {
  const typo = {
    endpoints: [{ name: "web-1", ips: ["10.0.0.1"], labels: { tier: "web" } }, { name: "db-1", ips: ["10.0.0.2"], labels: { tier: "db" } }],
    network: { defaultPolicyAction: "deny", policy: [{ from: { selector: "tier = wbe" }, to: { selector: "tier = db" }, ports: [5432], action: "allow" }] },
  };

  test("validate prints them on stderr, naming the path, and still exits 0", async () => {
    const file = tempFile("model.yaml", stringify(typo));
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${file}: valid`);
    expect(r.err).toBe(`${file}: warning: network.policy[0].from.selector: "tier = wbe" matches no endpoint, so the rule never applies\n`);
  });

  test("a model that matches prints none", async () => {
    const r = await runCli(["validate", stack]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
  });
});
