/**
 * examples/kubernetes-networkpolicy through the engine harness against a TEST API SERVER
 * (test/support/kube-apiserver.ts: a local HTTPS stand-in for the Kubernetes API with its own CA,
 * not a real cluster): preview, up → the object on the server, a config change → preview shows the
 * changed lines, a hand edit → refresh shows drift and up stops with the 409 until `force` takes
 * the fields back, destroy → gone. The kubeconfig comes from stack config, once as a file path with
 * a context and once as secret text; the secret text is then given a new token (an update) and
 * pointed at a second test server (a replacement: created there, deleted from the first).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "../../provider/targets/kube/client";
import { KubeApiServer, startKubeApiServer } from "../support/kube-apiserver";
import { runEngine } from "./run-engine";

const PROGRAM = path.resolve(__dirname, "..", "..", "examples", "kubernetes-networkpolicy");
const TOKEN = "example-token-4711";
const ref = (name: string) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name, namespace: "default" });
const SEED_SPEC = {
  podSelector: { matchLabels: { role: "db" } },
  ingress: [{
    from: [{ namespaceSelector: { matchLabels: { project: "myproject" } } }, { podSelector: { matchLabels: { role: "frontend" } } }],
    ports: [{ protocol: "TCP", port: 6379 }],
  }],
  // Written out as the API server would default it (the deploy layer writes every default, for every door).
  policyTypes: ["Ingress"],
};

let server: KubeApiServer;
let admin: KubeClient;
let dir: string;

beforeAll(async () => {
  server = await startKubeApiServer({ tokens: { [TOKEN]: { user: "deployer" } } });
  admin = await KubeClient.connect({ inline: server.kubeconfig({ token: TOKEN }) });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-k8s-example-"));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("examples/kubernetes-networkpolicy", () => {
  it("kubeconfig path + context: preview, up, change, refresh drift, 409 until force, destroy", async () => {
    const kubeconfig = path.join(dir, "kubeconfig.yaml");
    fs.writeFileSync(kubeconfig, server.kubeconfig({ token: TOKEN }));
    const args = (...extra: string[]) => [PROGRAM, "--state", path.join(dir, "path.json"), "--config", `kubeconfig=${kubeconfig}`, "--config", "context=test", ...extra];

    const preview = await runEngine(["preview", ...args()]);
    expect(preview.stderr).toBe("");
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}create/);
    expect(preview.stdout).toContain("+ cluster: [secret]");
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();

    const up = await runEngine(["up", ...args()]);
    expect(up.stdout).toContain("+ 1 created");
    expect(up.code).toBe(0);
    const live = await admin.get(ref("test-network-policy"));
    expect(live?.spec).toEqual(SEED_SPEC);
    expect(JSON.stringify(live?.metadata.managedFields)).toContain('"manager":"pulumi-netpolicy"');

    const changed = await runEngine(["preview", ...args("--config", "redisPort=6380")]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}update/);
    expect(changed.stdout).toMatch(/^ +~ spec\.ingress\[0\]\.ports\[0\]\.port: 6379 => 6380$/m);
    expect((await admin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);

    // A hand edit (kubectl edit): refresh reads the live object and reports drift.
    const edited = structuredClone(live) as NonNullable<typeof live>;
    (edited.spec as typeof SEED_SPEC).ingress[0].ports[0].port = 6390;
    await admin.replace(edited, { fieldManager: "kubectl-edit" });
    const refresh = await runEngine(["refresh", ...args()]);
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toMatch(/pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}drift/);
    expect(refresh.stdout).toMatch(/^ +[-+~] .*6390/m);
    expect(refresh.stdout).toContain("1 drifted");

    // The edit made kubectl-edit own spec.ingress: up stops with the 409 until told to take it back.
    const refused = await runEngine(["up", ...args()]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-edit"');
    expect((await admin.get(ref("test-network-policy")))?.spec).toMatchObject({ ingress: [{ ports: [{ port: 6390 }] }] });
    const repaired = await runEngine(["up", ...args("--config", "force=true")]);
    expect(repaired.code).toBe(0);
    expect((await admin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);

    const destroy = await runEngine(["destroy", ...args()]);
    expect(destroy.code).toBe(0);
    expect(destroy.stdout).toContain("- 1 deleted");
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();

    for (const out of [preview, up, changed, refresh, refused, repaired, destroy]) expect(out.stdout + out.stderr).not.toContain(TOKEN);
  }, 240_000);

  it("inline kubeconfig as a secret, with the namespace isolated: both policies written, the token never in clear", async () => {
    const state = path.join(dir, "inline.json");
    const args = [PROGRAM, "--state", state, "--secret", `kubeconfigContent=${server.kubeconfig({ token: TOKEN })}`, "--config", "isolateNamespace=true"];
    const up = await runEngine(["up", ...args]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("+ 2 created");
    expect((await admin.get(ref("default-deny-ingress")))?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    expect((await admin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);
    expect(up.stdout).not.toContain(TOKEN);
    expect(fs.readFileSync(state, "utf8")).not.toContain(TOKEN);

    const destroy = await runEngine(["destroy", ...args]);
    expect(destroy.code).toBe(0);
    expect(await admin.get(ref("default-deny-ingress"))).toBeUndefined();
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();
  }, 240_000);

  it("inline kubeconfig: a new token updates in place; another server replaces (deleted from the first, created on the second)", async () => {
    const ROTATED = "example-token-rotated-0815";
    const other = await startKubeApiServer({ tokens: { [TOKEN]: { user: "deployer" } } });
    try {
      server.tokens.set(ROTATED, { user: "deployer" });
      const otherAdmin = await KubeClient.connect({ inline: other.kubeconfig({ token: TOKEN }) });
      const state = path.join(dir, "moved.json");
      const args = (kubeconfig: string) => [PROGRAM, "--state", state, "--secret", `kubeconfigContent=${kubeconfig}`];

      const up = await runEngine(["up", ...args(server.kubeconfig({ token: TOKEN }))]);
      expect(up.code).toBe(0);
      expect(await admin.get(ref("test-network-policy"))).toBeDefined();

      const rotated = await runEngine(["up", ...args(server.kubeconfig({ token: ROTATED }))]);
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}update/);
      expect(rotated.stdout).toContain("    ~ 1 updated");
      expect(await admin.get(ref("test-network-policy"))).toBeDefined();

      const moved = await runEngine(["up", ...args(other.kubeconfig({ token: TOKEN }))]);
      expect(moved.stderr).toBe("");
      expect(moved.code).toBe(0);
      expect(moved.stdout).toMatch(/\+- +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}replace {2}\[diff: ~cluster\]/);
      expect(moved.stdout).toContain("    +- 1 replaced");
      expect(await admin.get(ref("test-network-policy"))).toBeUndefined();
      expect((await otherAdmin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);
      // Nothing of the kubeconfig in the state beside the (encrypted) secret: no token, no server.
      expect(fs.readFileSync(state, "utf8")).not.toMatch(new RegExp(`${TOKEN}|${ROTATED}|127\\.0\\.0\\.1`));

      const destroy = await runEngine(["destroy", ...args(other.kubeconfig({ token: TOKEN }))]);
      expect(destroy.code).toBe(0);
      expect(await otherAdmin.get(ref("test-network-policy"))).toBeUndefined();
      for (const out of [up, rotated, moved, destroy]) expect(out.stdout + out.stderr).not.toMatch(new RegExp(`${TOKEN}|${ROTATED}|127\\.0\\.0\\.1`));
    } finally {
      await other.close();
    }
  }, 240_000);

  it("a kubeconfig whose context does not exist: the up fails naming the context, nothing is written", async () => {
    const kubeconfig = path.join(dir, "kubeconfig.yaml");
    fs.writeFileSync(kubeconfig, server.kubeconfig({ token: TOKEN }));
    const before = server.requests.length;
    const up = await runEngine(["up", PROGRAM, "--state", path.join(dir, "bad.json"), "--config", `kubeconfig=${kubeconfig}`, "--config", "context=prod"]);
    expect(up.code).toBe(1);
    expect(up.stdout).toContain('context "prod" not found; available contexts: test');
    expect(server.requests.length).toBe(before);
  }, 240_000);
});
