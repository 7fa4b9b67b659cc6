/**
 * examples/kubernetes-networkpolicy through the engine harness against a REAL kube-apiserver
 * (v1.26.3 with etcd; test/support/real-kube-apiserver.ts), RBAC on. The program runs as the
 * example README's dedicated credential: the ServiceAccount `netpol-deployer` with the README's
 * Role (get, list, create, patch, delete on networkpolicies) and a token from the TokenRequest API,
 * as `kubectl create token` prints it.
 *
 * Preview, up → the object on the server, a config change → preview shows the changed lines, a
 * hand edit → refresh shows drift and up stops with the 409 until `force` takes the fields back,
 * destroy → gone. The kubeconfig comes from stack config, once as a file path with a context and
 * once as secret text; the secret text is then given a new token (an update) and pointed at a
 * second API server (a replacement: created there, deleted from the first). The read-only user
 * cannot deploy; a server that has stopped fails the up (last).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "../../provider/targets/kube/client";
import { describeWithRealKube, RealKubeApiServer, startRealKubeApiServer, TOKENS } from "../support/real-kube-apiserver";
import { createAll, serviceAccountToken } from "../support/real-kube-users";
import { runEngine } from "./run-engine";

const PROGRAM = path.resolve(__dirname, "..", "..", "examples", "kubernetes-networkpolicy");
const ref = (name: string) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name, namespace: "default" });
const SEED_SPEC = {
  podSelector: { matchLabels: { role: "db" } },
  ingress: [{
    from: [{ namespaceSelector: { matchLabels: { project: "myproject" } } }, { podSelector: { matchLabels: { role: "frontend" } } }],
    ports: [{ protocol: "TCP", port: 6379 }],
  }],
  // As the API server defaults it (the deploy layer writes every default, for every door).
  policyTypes: ["Ingress"],
};
const RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";

/** The example README's ServiceAccount, Role and RoleBinding; returns a token of the account. */
async function readmeDeployer(server: RealKubeApiServer): Promise<string> {
  const token = await serviceAccountToken(server, "default", "netpol-deployer");
  await createAll(server, [
    [`${RBAC}/roles`, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "netpol-deployer" },
      rules: [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "create", "patch", "delete"] }] }],
    [`${RBAC}/rolebindings`, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "netpol-deployer" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "netpol-deployer" },
      subjects: [{ kind: "ServiceAccount", name: "netpol-deployer", namespace: "default" }] }],
  ]);
  return token;
}

/** A pattern that matches any of the texts literally. */
const anyOf = (...texts: string[]) => new RegExp(texts.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"));

let server: RealKubeApiServer;
let admin: KubeClient;
let token: string;
let dir: string;

describeWithRealKube("examples/kubernetes-networkpolicy on a real kube-apiserver", () => {
  beforeAll(async () => {
    // The example writes NetworkPolicies only: no Calico API needed.
    server = await startRealKubeApiServer({ calico: false });
    admin = await KubeClient.connect({ inline: server.kubeconfig() });
    token = await readmeDeployer(server);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-k8s-example-"));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("kubeconfig path + context: preview, up, change, refresh drift, 409 until force, destroy", async () => {
    const kubeconfig = path.join(dir, "kubeconfig.yaml");
    fs.writeFileSync(kubeconfig, server.kubeconfig({ token }));
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
    expect(refresh.stdout).toContain('+ drift: "changed in the cluster: spec.ingress[0].ports[0].port: 6379 → 6390"');
    expect(refresh.stdout).toContain("1 drifted");

    // The edit made kubectl-edit own spec.ingress: up stops with the 409 until told to take it back.
    const refused = await runEngine(["up", ...args()]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-edit" using networking.k8s.io/v1: .spec.ingress');
    expect(refused.stdout).toContain("(input property: spec.ingress)");
    expect((await admin.get(ref("test-network-policy")))?.spec).toMatchObject({ ingress: [{ ports: [{ port: 6390 }] }] });
    // The README's role is enough to take the fields back.
    const repaired = await runEngine(["up", ...args("--config", "force=true")]);
    expect(repaired.stderr).toBe("");
    expect(repaired.code).toBe(0);
    expect((await admin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);
    const clean = await runEngine(["refresh", ...args("--config", "force=true")]);
    expect(clean.stdout).toContain("0 drifted");

    const destroy = await runEngine(["destroy", ...args()]);
    expect(destroy.code).toBe(0);
    expect(destroy.stdout).toContain("- 1 deleted");
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();

    for (const out of [preview, up, changed, refresh, refused, repaired, clean, destroy]) expect(out.stdout + out.stderr).not.toContain(token);
  }, 240_000);

  it("inline kubeconfig as a secret, with the namespace isolated: both policies written, the token never in clear", async () => {
    const state = path.join(dir, "inline.json");
    const args = [PROGRAM, "--state", state, "--secret", `kubeconfigContent=${server.kubeconfig({ token })}`, "--config", "isolateNamespace=true"];
    const up = await runEngine(["up", ...args]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("+ 2 created");
    expect((await admin.get(ref("default-deny-ingress")))?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    expect((await admin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);
    expect(up.stdout).not.toContain(token);
    expect(fs.readFileSync(state, "utf8")).not.toContain(token);

    const destroy = await runEngine(["destroy", ...args]);
    expect(destroy.code).toBe(0);
    expect(await admin.get(ref("default-deny-ingress"))).toBeUndefined();
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();
  }, 240_000);

  it("inline kubeconfig: a new token updates in place; another server replaces (deleted from the first, created on the second)", async () => {
    const rotated = await serviceAccountToken(server, "default", "netpol-deployer", { create: false });
    expect(rotated).not.toBe(token);
    const other = await startRealKubeApiServer({ calico: false });
    try {
      const otherAdmin = await KubeClient.connect({ inline: other.kubeconfig() });
      const otherToken = await readmeDeployer(other);
      const secrets = anyOf(token, rotated, otherToken, "127.0.0.1");
      const state = path.join(dir, "moved.json");
      const args = (kubeconfig: string) => [PROGRAM, "--state", state, "--secret", `kubeconfigContent=${kubeconfig}`];

      const up = await runEngine(["up", ...args(server.kubeconfig({ token }))]);
      expect(up.code).toBe(0);
      expect(await admin.get(ref("test-network-policy"))).toBeDefined();

      const renewed = await runEngine(["up", ...args(server.kubeconfig({ token: rotated }))]);
      expect(renewed.code).toBe(0);
      expect(renewed.stdout).toMatch(/~ +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}update/);
      expect(renewed.stdout).toContain("    ~ 1 updated");
      expect(await admin.get(ref("test-network-policy"))).toBeDefined();

      const moved = await runEngine(["up", ...args(other.kubeconfig({ token: otherToken }))]);
      expect(moved.stderr).toBe("");
      expect(moved.code).toBe(0);
      expect(moved.stdout).toMatch(/\+- +pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}test-network-policy {2}replace {2}\[diff: ~cluster\]/);
      expect(moved.stdout).toContain("    +- 1 replaced");
      expect(await admin.get(ref("test-network-policy"))).toBeUndefined();
      expect((await otherAdmin.get(ref("test-network-policy")))?.spec).toEqual(SEED_SPEC);
      // Nothing of the kubeconfig in the state beside the (encrypted) secret: no token, no server.
      expect(fs.readFileSync(state, "utf8")).not.toMatch(secrets);

      const destroy = await runEngine(["destroy", ...args(other.kubeconfig({ token: otherToken }))]);
      expect(destroy.code).toBe(0);
      expect(await otherAdmin.get(ref("test-network-policy"))).toBeUndefined();
      for (const out of [up, renewed, moved, destroy]) expect(out.stdout + out.stderr).not.toMatch(secrets);
    } finally {
      await other.close();
    }
  }, 240_000);

  it("a kubeconfig whose context does not exist: the up fails naming the context, nothing is requested", async () => {
    const kubeconfig = path.join(dir, "kubeconfig.yaml");
    fs.writeFileSync(kubeconfig, server.kubeconfig({ token }));
    const before = await server.requestCount();
    const up = await runEngine(["up", PROGRAM, "--state", path.join(dir, "bad.json"), "--config", `kubeconfig=${kubeconfig}`, "--config", "context=prod"]);
    expect(up.code).toBe(1);
    expect(up.stdout).toContain('context "prod" not found; available contexts: test');
    expect(await server.requestCount()).toBe(before);
  }, 240_000);

  it("the read-only user: the up fails with the 403 naming the verb and the user, nothing is written", async () => {
    const up = await runEngine(["up", PROGRAM, "--state", path.join(dir, "reader.json"), "--secret", `kubeconfigContent=${server.kubeconfig({ user: "reader" })}`]);
    expect(up.code).toBe(1);
    expect(up.stdout).toContain('403 Forbidden: networkpolicies.networking.k8s.io "test-network-policy" is forbidden: User "reader" cannot patch resource "networkpolicies"');
    expect(up.stdout).toContain('user "test-user" (context "test") lacks the RBAC permission');
    expect(up.stdout + up.stderr).not.toContain(TOKENS.reader);
    expect(await admin.get(ref("test-network-policy"))).toBeUndefined();
  }, 240_000);

  // Last: it stops the server.
  it("an API server that has stopped: refresh and up fail naming the server they cannot reach; the state keeps the resource", async () => {
    const state = path.join(dir, "stopped.json");
    const args = [PROGRAM, "--state", state, "--secret", `kubeconfigContent=${server.kubeconfig({ token })}`];
    expect((await runEngine(["up", ...args])).code).toBe(0);
    await server.stopApiServer();
    const refresh = await runEngine(["refresh", ...args]);
    expect(refresh.code).toBe(1);
    expect(refresh.stdout).toMatch(/NetworkPolicy default\/test-network-policy: reading the object back failed: .*cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED/);
    const up = await runEngine(["up", ...args, "--config", "redisPort=6380"]);
    expect(up.code).toBe(1);
    expect(up.stdout).toMatch(/server-side apply failed: .*cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED/);
    expect(fs.readFileSync(state, "utf8")).toContain("test-network-policy");
  }, 240_000);
});
