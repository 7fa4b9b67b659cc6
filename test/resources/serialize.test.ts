/**
 * Every provider survives Pulumi's closure serialization: serialized with the SDK's own
 * serializer, loaded from the text in a fresh node process (no ts-node preloaded, another working
 * directory), as the dynamic provider server does, and run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { networkPolicyProvider, policyProvider, profileProvider } from "../../provider/resources/document-providers";
import { tableName } from "../../provider/render";
import { networkProviderWith } from "../../provider/resources/network";
import { networkInputs } from "./fixtures";

const RUNNER = `
const requireFromString = require(require.resolve("require-from-string", { paths: [process.env.PULUMI_DIR] }));
const fs = require("fs");
(async () => {
  const provider = requireFromString(fs.readFileSync(process.env.PROVIDER_FILE, "utf8")).handler();
  const calls = JSON.parse(process.env.CALLS);
  const out = [];
  for (const [method, ...args] of calls) {
    try { out.push({ ok: await provider[method](...args) ?? null }); } catch (e) { out.push({ error: String(e && e.message) }); }
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

type Call = [string, ...unknown[]];
type Outcome = { ok?: Record<string, unknown> | null; error?: string };

async function runSerialized(provider: pulumi.dynamic.ResourceProvider, calls: Call[], env: NodeJS.ProcessEnv = {}): Promise<{ text: string; results: Outcome[] }> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-ser-"));
  try {
    const file = path.join(dir, "provider.js");
    fs.writeFileSync(file, sf.text);
    const r = spawnSync(process.execPath, ["-e", RUNNER], {
      cwd: dir, encoding: "utf8", timeout: 60_000,
      env: { ...process.env, ...env, PROVIDER_FILE: file, CALLS: JSON.stringify(calls), PULUMI_DIR: path.dirname(require.resolve("@pulumi/pulumi")) },
    });
    if (r.status !== 0) throw new Error(`runner failed (${r.status}): ${r.stderr}`);
    return { text: sf.text, results: JSON.parse(r.stdout) as Outcome[] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("providers from their serialized text", () => {
  it("network: check renders rules, create/read/delete reach the (fake) hosts", async () => {
    const hosts = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-fake-"));
    const table = tableName("shop");
    const inputs = { ...networkInputs(), table };
    // The file-based hosts of fake-host-driver.ts, handed to the provider the only way there is.
    const provider = networkProviderWith({ hostDriverModule: path.join(__dirname, "fake-host-driver.ts") });
    const { text, results } = await runSerialized(provider, [
      ["check", {}, networkInputs()],
      ["create", inputs],
      ["delete", "id", { ...inputs, applied: {} }],
    ], { NETPOL_FAKE_HOSTS_DIR: hosts });
    expect(text.length).toBeLessThan(20_000); // only the loader and the method shims, no modules
    expect(text).not.toMatch(/zod|ssh2/);
    const [check, create, del] = results;
    expect(check.error).toBeUndefined();
    const checked = check.ok as { inputs: { rules: Record<string, string>; table: string }; failures: unknown[] };
    expect(checked.failures).toEqual([]);
    expect(Object.keys(checked.inputs.rules)).toEqual(["h1", "h2"]);
    expect(checked.inputs.table).toBe(table);
    expect(checked.inputs.rules.h1).toMatch(new RegExp(`^table inet ${table} \\{`));
    expect(create.error).toBeUndefined();
    expect(del.error).toBeUndefined();
    expect(fs.readFileSync(path.join(hosts, "calls.log"), "utf8").trim().split("\n").sort()).toEqual([
      `apply h1 ${table}`, `apply h2 ${table}`, `delete h1 ${table}`, `delete h2 ${table}`,
    ]);
    fs.rmSync(hosts, { recursive: true, force: true });
  }, 90_000);

  it.each([
    ["profile", profileProvider, { profileId: "WEB", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80] }] }],
    ["policy", policyProvider, { name: "db-policy", selector: "role == 'db'", inbound_rules: [{ action: "deny" }] }],
    ["networkPolicy", networkPolicyProvider, { apiVersion: "extensions/v1beta1", kind: "NetworkPolicy", metadata: { name: "p" }, spec: { podSelector: {} } }],
  ])("%s: check, create, diff, delete", async (_kind, provider, doc) => {
    const { results } = await runSerialized(provider, [["check", {}, doc], ["create", doc], ["diff", "x", doc, doc], ["delete", "x", doc]]);
    for (const r of results) expect(r.error).toBeUndefined();
    const checked = results[0].ok as { inputs: { document: Record<string, unknown> }; failures: unknown[] };
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.document).toBeDefined();
    expect(checked.inputs.document).not.toHaveProperty("profileId");
    expect((results[2].ok as { replaces: string[] }).replaces).toEqual([]);
  }, 90_000);
});
