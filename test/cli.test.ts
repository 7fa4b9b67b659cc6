import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROBE_SYNTAX } from "../provider/analyze/probe";
import { commands } from "../provider/cli/commands";
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

  test("more endpoints than --max-endpoints: refused with what to use instead, nothing printed on stdout", async () => {
    const r = await runCli(["reach", stack, "--probe", "tcp/80", "--max-endpoints", "6"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.split("\n")[0]).toBe(`netpol reach: ${stack} has 7 endpoints, more than --max-endpoints 6: the matrix would have 49 cells per probe. ` +
      `Use "netpol view ${stack} --out FILE.html" for the matrix per class of endpoints, "netpol test ${stack} EXPECT.yaml" to check the flows that matter, ` +
      `"netpol explain ${stack} --from A --to B --probe P" for one flow, or --max-endpoints 7 to write the whole matrix`);
    expect((await runCli(["reach", stack, "--probe", "tcp/80", "--max-endpoints", "7"])).code).toBe(0);
  });

  test.each(["0", "-1", "1e4", "5,000", "many"])("--max-endpoints %s is a usage error", async (value) => {
    const r = await runCli(["reach", stack, "--probe", "tcp/80", `--max-endpoints=${value}`]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--max-endpoints must be a whole number of endpoints, 1 or more (e.g. --max-endpoints 10000), not "${value}"`);
  });

  test("the default limit is 5,000 endpoints, as the help says", async () => {
    const endpoints = Array.from({ length: 5001 }, (_, i) => ({ name: `e${i}`, ips: [`10.1.${i >> 8}.${i & 0xff}`] }));
    const file = tempFile("big.yaml", stringify({ endpoints, network: { defaultPolicyAction: "deny", policy: [] } }));
    const r = await runCli(["reach", file, "--probe", "tcp/80", "--format", "json"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("has 5,001 endpoints, more than --max-endpoints 5,000");
    expect((await runCli(["help", "reach"])).out).toContain("(default 5,000)");
  });

  test("as a process: the matrix streams through a slow pipe whole, and a reader that stops early ends it with exit 0, no stack trace", async () => {
    // 400 endpoints: 3.5 MB of JSON, far more than a pipe holds, so writes wait for the reader.
    const endpoints = Array.from({ length: 400 }, (_, i) => ({ name: `e${i}`, ips: [`10.1.${i >> 8}.${i & 0xff}`], labels: { g: `g${i % 3}` } }));
    const file = tempFile("wide.yaml", stringify({ endpoints, network: { defaultPolicyAction: "deny", policy: [{ between: { groupBy: "g" }, action: "allow" }] } }));
    const env = { ...process.env, CLI: path.join(__dirname, "..", "provider", "cli.ts"), MODEL: file };
    const netpol = 'node -r ts-node/register/transpile-only "$CLI" reach "$MODEL" --probe tcp/80 --format json';
    const slow = spawnSync("bash", ["-c", `set -o pipefail; ${netpol} | (sleep 2; cat)`], { encoding: "utf8", env, timeout: 120_000, maxBuffer: 1 << 26 });
    expect(slow.status).toBe(0);
    expect(slow.stdout).toBe((await runCli(["reach", file, "--probe", "tcp/80", "--format", "json"])).out);
    const early = spawnSync("bash", ["-c", `${netpol} | head -c 100 >/dev/null; echo "exit \${PIPESTATUS[0]}"`], { encoding: "utf8", env, timeout: 120_000 });
    expect(early.stdout).toBe("exit 0\n");
    expect(early.stderr).toBe("");
  }, 130_000);

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

describe("the CLI a person expects", () => {
  const options = (c: (typeof commands)[number]) => Object.keys(c.options).map((o) => `--${o}`);

  test.each(commands.map((c) => [c.name, c] as const))("netpol %s: the usage line lists every option", (_name, c) => {
    const usage = c.help.split("\n")[0];
    expect(usage).toMatch(new RegExp(`^Usage: netpol ${c.name} (FILE|OLD NEW)\\b`));
    for (const o of options(c)) expect(usage).toMatch(new RegExp(`\\[?${o}\\b`));
  });

  test.each(commands.map((c) => [c.name, c] as const))("netpol help %s is netpol %s --help", async (name, c) => {
    const viaHelp = await runCli(["help", name]);
    const viaFlag = await runCli([name, "--help"]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toBe(`${c.help}\n`);
    expect(viaFlag.out).toBe(viaHelp.out);
  });

  test("the README's command table lists every command and every option", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    for (const c of commands) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`netpol ${c.name} `));
      expect(row).toBeDefined();
      for (const o of options(c)) expect(row).toContain(o);
    }
  });

  test.each<[string, string[], string]>([
    ["a misspelt command", ["vaildate", stack], 'netpol: unknown command "vaildate" (did you mean "validate"?)'],
    ["a misspelt help topic", ["help", "rech"], 'netpol: unknown command "rech" (did you mean "reach"?)'],
    ["a misspelt option", ["reach", stack, "--prob", "tcp/80"], 'netpol reach: unknown option "--prob" (did you mean "--probe"?)'],
    ["a misspelt option with a value", ["apply", stack, "--concurency=4"], 'netpol apply: unknown option "--concurency" (did you mean "--concurrency"?)'],
    ["an option of another command", ["validate", stack, "--probe", "tcp/80"], 'netpol validate: unknown option "--probe"'],
  ])("%s → exit 2 with a did-you-mean", async (_what, argv, first) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe(first);
  });

  test("apply handles 8 hosts at once by default, as a Network does", () => {
    const apply = commands.find((c) => c.name === "apply");
    expect(apply?.help).toContain("--concurrency N      hosts at once, 1-256 (default 8, as a Network's concurrency)");
  });

  test("probes are documented as the parser reads them", async () => {
    for (const name of ["reach", "explain"]) expect((await runCli(["help", name])).out).toContain(PROBE_SYNTAX);
    const r = await runCli(["reach", stack, "--probe", "icmpv6/128/0"]);
    expect(r.code).toBe(0);
  });
});

describe("explain reads as English", () => {
  test.each<[string, string[], string]>([
    ["a default by its path", ["rancher-stack-isolation.yaml", "stack_one/service_one", "stack_two/service_one", "udp/53"],
      "  ✗ Rancher ingress, entering stack_two/service_one: denies — no rule matches in rancher network policy, so network.defaultPolicyAction decides"],
    ["Kubernetes isolation", ["kubernetes-seed.yaml", "default/frontend", "default/db", "tcp/80"],
      "  ✗ Kubernetes ingress, entering default/db: denies — isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows"],
    ["Kubernetes isolation, the closing line", ["kubernetes-seed.yaml", "default/frontend", "default/db", "tcp/80"],
      "  Decided by: Kubernetes ingress of default/db (isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows). Every layer, in both directions, must allow."],
    ["Calico profiles", ["calico-web-app.yaml", "client-1", "app-1", "tcp/7890"],
      "  ✗ Calico ingress, entering app-1: denies — no profile allows inbound (profiles: APP)"],
  ])("%s", async (_what, [file, from, to, probe], line) => {
    const r = await runCli(["explain", model(file), "--from", from, "--to", to, "--probe", probe]);
    expect(r.out.split("\n")).toContain(line);
    expect(r.out).not.toMatch(/allows decides|\) decides/);
  });
});
