/**
 * `netpol plan / apply / status / destroy` on a model's Rancher network, against the TEST RANCHER
 * SERVER (test/support/rancher-server.ts, a local HTTP stand-in for the Rancher 1.x API): the
 * model's `network` is written there, read back for drift, and Rancher's default put back on
 * destroy. The API key pair comes from the environment and never shows in any output.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { runCli } from "./support/cli";
import { RancherServer, startRancherServer } from "./support/rancher-server";

let rancher: RancherServer;
let dir: string;
const TITLE = "rancher: network 1a5/1n5";

beforeAll(async () => {
  rancher = await startRancherServer({ networks: ["1a5/1n5"] });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-cli-rancher-"));
});
afterAll(async () => {
  await rancher.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function model(extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, "model.yaml");
  fs.writeFileSync(file, stringify({
    name: "stacks",
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
    // The test Rancher server speaks plain http on loopback.
    rancher: { url: rancher.url, project: "1a5", network: "1n5", accessKeyEnv: "TEST_RANCHER_ACCESS", secretKeyEnv: "TEST_RANCHER_SECRET", insecureAllowHttp: true },
    ...extra,
  }));
  return file;
}

const env = () => ({ TEST_RANCHER_ACCESS: rancher.accessKey, TEST_RANCHER_SECRET: rancher.secretKey });
const live = () => rancher.networks.get("1a5/1n5") as { defaultPolicyAction: string; policy: unknown[]; dns: unknown };

test("plan, apply, status in sync, a change in Rancher is drift, destroy puts the default back", async () => {
  const file = model();
  let r = await runCli(["plan", file], dir, env());
  expect(r.err).toBe("");
  expect(r.out).toContain(`${TITLE}\n  1a5/1n5: update — `);
  expect(r.out).toContain("+ defaultPolicyAction: deny");
  expect(r.out).toContain("plan: rancher: 1 object(s), 1 to change");
  expect(live().defaultPolicyAction).toBe("allow"); // plan writes nothing

  r = await runCli(["apply", file], dir, env());
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toContain("  1a5/1n5: applied");
  expect(live()).toMatchObject({ defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }], dns: ["169.254.169.250"] });

  r = await runCli(["status", file], dir, env());
  expect(r.out).toContain("  1a5/1n5: in sync");
  expect(r.code).toBe(0);
  expect((await runCli(["plan", file], dir, env())).out).toContain("  1a5/1n5: up to date");

  rancher.networks.set("1a5/1n5", { ...live(), defaultPolicyAction: "allow" });
  r = await runCli(["status", file], dir, env());
  expect(r.out).toContain('  1a5/1n5: drift: changed in Rancher: defaultPolicyAction: "deny" → "allow"');
  expect(r.code).toBe(1);

  r = await runCli(["destroy", file], dir, env());
  expect(r.code).toBe(0);
  expect(r.out).toContain("  1a5/1n5: restored");
  expect(live()).toMatchObject({ defaultPolicyAction: "allow", policy: [] });
  for (const out of [r.out, r.err]) expect(out).not.toContain(rancher.secretKey);
});

test("a missing key variable is an input error naming it; nothing is sent", async () => {
  const before = rancher.requests.length;
  const r = await runCli(["apply", model()], dir, { TEST_RANCHER_ACCESS: rancher.accessKey });
  expect(r.code).toBe(1);
  expect(r.err).toContain("rancher.secretKeyEnv: environment variable TEST_RANCHER_SECRET is not set");
  expect(rancher.requests.length).toBe(before);
});

test("an http:// url without insecureAllowHttp: apply fails naming the risk; nothing is sent", async () => {
  const before = rancher.requests.length;
  const r = await runCli(["apply", model({ rancher: { url: rancher.url, project: "1a5", network: "1n5", accessKeyEnv: "TEST_RANCHER_ACCESS", secretKeyEnv: "TEST_RANCHER_SECRET" } })], dir, env());
  expect(r.code).toBe(1);
  expect(r.err).toContain("uses http://: the API key pair and the policy would travel in clear text");
  expect(rancher.requests.length).toBe(before);
  expect(r.out + r.err).not.toContain(rancher.secretKey);
});

test("wrong keys: apply fails on the Rancher network with Rancher's words, and says so", async () => {
  const r = await runCli(["apply", model()], dir, { TEST_RANCHER_ACCESS: "nobody", TEST_RANCHER_SECRET: "wrong-secret-123" });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/^apply failed on the rancher network; .*\n  - network stacks: rancher: reading network 1a5\/1n5 failed: .*401/s);
  expect(r.out + r.err).not.toContain("wrong-secret-123");
});

test("--rancher without a rancher target is a usage error", async () => {
  const file = path.join(dir, "plain.yaml");
  fs.writeFileSync(file, stringify({ name: "x" }));
  const r = await runCli(["plan", file, "--rancher"], dir, env());
  expect(r.code).toBe(2);
  expect(r.err).toContain("--rancher: the model has no rancher target");
});

test("plan and apply warn about a rule that matches nothing, without failing; status does not", async () => {
  const file = model({
    endpoints: [{ name: "web-1", ips: ["10.0.0.1"], labels: { tier: "web" } }],
    network: { defaultPolicyAction: "deny", policy: [{ from: { selector: "tier = wbe" }, action: "allow" }] },
  });
  const warning = `${file}: warning: network.policy[0].from.selector: "tier = wbe" matches no endpoint, so the rule never applies\n`;
  let r = await runCli(["plan", file], dir, env());
  expect(r.code).toBe(0);
  expect(r.err).toBe(warning);
  expect(r.out).toContain("plan: rancher: 1 object(s)");
  r = await runCli(["apply", file], dir, env());
  expect(r.code).toBe(0);
  expect(r.err).toBe(warning);
  r = await runCli(["status", file], dir, env());
  expect(r.err).toBe("");
  expect((await runCli(["destroy", file], dir, env())).code).toBe(0);
});
