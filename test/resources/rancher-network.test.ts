/**
 * A Network with a `rancher` target, against TEST SERVERS: the local stand-in for the Rancher 1.x
 * API (test/support/rancher-server.ts) and, for hosts, the fake SSH target — not a real Rancher or
 * real hosts. Covers the write, refresh and drift, moving and removing the target, delete restoring
 * the network's previous policy, 404 / 401 / 422, and the API key pair kept out of outputs and
 * errors.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RancherApplied } from "../../provider/deploy/rancher/target";
import { UNKNOWN } from "../../provider/resources/inputs";
import { RancherServer, startRancherServer } from "../support/rancher-server";
import { networkInputs } from "./fixtures";
import * as operations from "../../provider/resources/network-operations";
import type { Props } from "../../provider/resources/inputs";
import { hostDriver, hostTables } from "./fake-host-driver";

// The operations with the file-based hosts of fake-host-driver.ts.
const createNetwork = (inputs: Props) => operations.createNetwork(inputs, hostDriver);
const updateNetwork = (id: string, olds: Props, news: Props) => operations.updateNetwork(id, olds, news, hostDriver);
const readNetwork = (id: string, props: Props) => operations.readNetwork(id, props, hostDriver);
const deleteNetwork = (props: Props) => operations.deleteNetwork(props, hostDriver);
const { checkNetwork, diffNetwork } = operations;

const ACCESS = "AK-5e1d2c";
const SECRET = "sk-0f9e8d7c6b5a-secret";
const HOUSE_POLICY = [{ within: "service", action: "allow" }];

describe("Network with a rancher target (test Rancher server)", () => {
  let rancher: RancherServer;
  let fakeHosts: string;
  beforeEach(async () => {
    rancher = await startRancherServer({ accessKey: ACCESS, secretKey: SECRET, networks: ["1a5/1n5", "1a5/1n6"] });
    // The network as someone left it before Pulumi: restored on delete.
    Object.assign(rancher.networks.get("1a5/1n5") ?? {}, { defaultPolicyAction: "deny", policy: HOUSE_POLICY });
    fakeHosts = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-fake-"));
    process.env.NETPOL_FAKE_HOSTS_DIR = fakeHosts;
  });
  afterEach(async () => {
    await rancher.close();
    fs.rmSync(fakeHosts, { recursive: true, force: true });
    delete process.env.NETPOL_FAKE_HOSTS_DIR;
  });

  /** A Rancher-only network, as the SDK passes it: the key pair in `rancherCredentials`. */
  const rancherOnly = (change: Record<string, unknown> = {}) => ({
    name: "shop",
    rancher: { url: rancher.url, project: "1a5", network: "1n5", insecureAllowHttp: true },
    rancherCredentials: { accessKey: ACCESS, secretKey: SECRET },
    defaultPolicyAction: "deny",
    policy: [{ within: "stack", action: "allow" }, { between: { groupBy: "com.example.dept" }, action: "allow" }],
    ...change,
  });
  const puts = () => rancher.requests.filter((r) => r.method === "PUT");
  const stored = (key = "1a5/1n5") => rancher.networks.get(key) ?? {};
  const noKeys = (v: unknown) => {
    const { rancherCredentials: _c, ...rest } = v as Record<string, unknown>;
    const text = JSON.stringify(rest);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ACCESS);
  };

  it("writes the policy, reads it back, reports a hand edit as drift, repairs it, and restores the old policy on delete", async () => {
    const { inputs, failures } = checkNetwork(rancherOnly());
    expect(failures).toEqual([]);
    expect(inputs.rules).toEqual({});
    const created = await createNetwork(inputs);
    expect(puts()).toHaveLength(1);
    expect(puts()[0]).toMatchObject({ path: "/v2-beta/projects/1a5/networks/1n5", body: { id: "1n5", type: "network", defaultPolicyAction: "deny", policy: rancherOnly().policy, dns: ["169.254.169.250"] } });
    expect(created.outs.rancherApplied).toEqual({
      url: rancher.url, project: "1a5", network: "1n5", defaultPolicyAction: "deny", policy: rancherOnly().policy,
      previous: { defaultPolicyAction: "deny", policy: HOUSE_POLICY },
    });
    noKeys(created.outs);

    const clean = await readNetwork(created.id, created.outs);
    expect((clean.props.rancherApplied as RancherApplied).drift).toBeUndefined();
    expect(diffNetwork(clean.props, inputs).changes).toBe(false);

    stored().defaultPolicyAction = "allow";
    (stored().policy as unknown[]).pop();
    const drifted = await readNetwork(created.id, clean.props);
    expect((drifted.props.rancherApplied as RancherApplied).drift).toBe(
      'changed in Rancher: defaultPolicyAction: "deny" → "allow"; policy: [{"within":"stack","action":"allow"},{"between":{"groupBy":"com.example.dept"... → [{"within":"stack","action":"allow"}]');
    expect(diffNetwork(drifted.props, inputs).changes).toBe(true);

    const repaired = await updateNetwork(created.id, drifted.props, inputs);
    expect(stored()).toMatchObject({ defaultPolicyAction: "deny", policy: rancherOnly().policy });
    // The policy from before the first write survives updates.
    expect((repaired.outs.rancherApplied as RancherApplied).previous).toEqual({ defaultPolicyAction: "deny", policy: HOUSE_POLICY });

    await deleteNetwork(repaired.outs);
    expect(stored()).toMatchObject({ defaultPolicyAction: "deny", policy: HOUSE_POLICY });
  });

  it("works beside hosts: hosts get their tables, Rancher gets the policy", async () => {
    const { inputs } = checkNetwork(networkInputs({ rancher: { url: rancher.url, project: "1a5", network: "1n6", insecureAllowHttp: true }, rancherCredentials: { accessKey: ACCESS, secretKey: SECRET } }));
    const created = await createNetwork(inputs);
    expect(Object.keys(created.outs.applied as object)).toEqual(["h1", "h2"]);
    expect(hostTables({ host: "10.0.0.1" })).toHaveProperty(String(inputs.table));
    expect(stored("1a5/1n6")).toMatchObject({ defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] });
    await deleteNetwork(created.outs);
    expect(hostTables({ host: "10.0.0.1" })).toEqual({});
    expect(stored("1a5/1n6")).toMatchObject({ defaultPolicyAction: "allow", policy: [] });
  });

  it("moving the target restores the old network and writes the new one; removing it restores", async () => {
    const created = await createNetwork(checkNetwork(rancherOnly({ hosts: [] })).inputs);
    const moved = await updateNetwork(created.id, created.outs, checkNetwork(rancherOnly({ rancher: { url: rancher.url, project: "1a5", network: "1n6", insecureAllowHttp: true } })).inputs);
    expect(stored("1a5/1n5")).toMatchObject({ defaultPolicyAction: "deny", policy: HOUSE_POLICY });
    expect(stored("1a5/1n6")).toMatchObject({ defaultPolicyAction: "deny", policy: rancherOnly().policy });
    expect(moved.outs.rancherApplied).toMatchObject({ network: "1n6", previous: { defaultPolicyAction: "allow", policy: [] } });
  });

  it("a network gone from Rancher is drift on refresh and gone on delete", async () => {
    const created = await createNetwork(checkNetwork(rancherOnly()).inputs);
    rancher.networks.delete("1a5/1n5");
    const read = await readNetwork(created.id, created.outs);
    expect((read.props.rancherApplied as RancherApplied).drift).toBe("the network is gone from Rancher");
    await expect(deleteNetwork(created.outs)).resolves.toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an unknown network (404)", { rancher: { url: "", project: "1a5", network: "1n9", insecureAllowHttp: true } }, /^network shop: rancher: network 1a5\/1n9 not found at http:\/\/127\.0\.0\.1:\d+ \(404\); check the project and network ids$/],
    ["a wrong key pair (401)", { rancherCredentials: { accessKey: ACCESS, secretKey: "wrong-secret-123" } }, /^network shop: rancher: reading network 1a5\/1n5 failed: Rancher network 1a5\/1n5 at http:\/\/127\.0\.0\.1:\d+: 401 Unauthorized: Unauthorized — Rancher did not accept the API key pair \(accessKey\/secretKey\)$/],
  ])("%s: a clear error without the key pair", async (_what, change, message) => {
    const news = rancherOnly(change);
    if (isRecordWithUrl(news.rancher)) news.rancher.url = rancher.url;
    const error = await createNetwork(checkNetwork(news).inputs).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    for (const s of [SECRET, ACCESS, "wrong-secret-123"]) expect((error as Error).message).not.toContain(s);
  });

  it("an http:// url without insecureAllowHttp is refused before anything is sent (the key pair would travel in clear text)", async () => {
    const news = rancherOnly({ rancher: { url: rancher.url, project: "1a5", network: "1n5" } });
    const { inputs, failures } = checkNetwork(news);
    expect(failures).toEqual([]);
    const error = await createNetwork(inputs).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/url "http:\/\/127\.0\.0\.1:\d+" uses http:\/\/: the API key pair and the policy would travel in clear text; use the server's https:\/\/ URL \(insecureAllowHttp: true accepts it, for a loopback test server only\)/);
    expect(rancher.requests).toEqual([]);
    for (const s of [SECRET, ACCESS]) expect((error as Error).message).not.toContain(s);
  });

  it.each<[number, string, string | undefined, string, RegExp]>([
    [422, "InvalidOption", "policy", "unsupported rule", /422 InvalidOption: unsupported rule; field policy \(input property: policy\)$/],
    [409, "Conflict", undefined, "the network was modified", /409 Conflict: the network was modified$/],
    [403, "PermissionDenied", undefined, "", /403 PermissionDenied — the API key may not change this environment$/],
  ])("a PUT refused with %i names the network, the step and the input property", async (status, code, fieldName, text, tail) => {
    const created = await createNetwork(checkNetwork(rancherOnly()).inputs);
    rancher.failNext({ method: "PUT", status, code, ...(text !== "" ? { message: text } : {}), ...(fieldName ? { fieldName } : {}) });
    const news = checkNetwork(rancherOnly({ defaultPolicyAction: "allow" })).inputs;
    const error = await updateNetwork(created.id, created.outs, news).catch((e: Error & { properties?: Record<string, unknown> }) => e);
    expect((error as Error).message).toMatch(/^network shop: rancher: writing network 1a5\/1n5 failed: Rancher network 1a5\/1n5 at http:\/\/127\.0\.0\.1:\d+: /);
    expect((error as Error).message).toMatch(tail);
    // The engine keeps the last good write: the next up writes again.
    const kept = (error as { properties?: Record<string, unknown> }).properties ?? {};
    expect(kept.rancherApplied).toMatchObject({ defaultPolicyAction: "deny" });
    expect(stored().defaultPolicyAction).toBe("deny");
  });

  it("check: the target's fields are checked with their paths; hosts or a rancher target are needed; unknown keys at preview pass", () => {
    expect(checkNetwork(rancherOnly({ rancher: { url: "rancher.example", project: "1a-5", network: "1n5" } })).failures).toEqual([
      { property: "rancher.url", reason: "url must be a URL such as https://rancher.example:8443" },
      { property: "rancher.project", reason: "a Rancher project id is letters and digits, e.g. 1a5" },
    ]);
    expect(checkNetwork(rancherOnly({ rancherCredentials: {} })).failures).toEqual([
      { property: "rancher.accessKey", reason: "is required (string)" },
      { property: "rancher.secretKey", reason: "is required (string)" },
    ]);
    expect(checkNetwork({ name: "shop", hosts: [] }).failures).toEqual([
      { property: "hosts", reason: "a Network needs hosts to enforce its policies on, a rancher target to write them to, or both" },
    ]);
    expect(checkNetwork(rancherOnly({ rancherCredentials: UNKNOWN })).failures).toEqual([]);
  });
});

function isRecordWithUrl(v: unknown): v is { url: string } {
  return typeof v === "object" && v !== null && "url" in v && (v as { url: unknown }).url === "";
}
