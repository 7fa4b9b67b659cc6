/**
 * `netpol plan / apply / destroy / status` on a cluster, run in-process against a REAL
 * kube-apiserver (v1.26.3 with etcd; test/support/real-kube-apiserver.ts), RBAC on, token users
 * admin / reader / nobody. Calico's projectcalico.org/v3 kinds are served by CustomResourceDefinitions
 * standing in for the Calico API server. What the CLI requested is read from the server's audit log.
 *
 * One case stays on the hand-written test server (test/support/kube-apiserver.ts): a validating
 * admission webhook's denial, which would need a webhook server in front of the real one.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { compare, desiredObjects } from "../provider/deploy/cluster/objects";
import { diffLines, formatDiff } from "../provider/deploy/line-diff";
import { parseModelText } from "../provider/model/model";
import { KubeClient, KubeObject } from "../provider/targets/kube/client";
import { startKubeApiServer } from "./support/kube-apiserver";
import { SERVED_TYPES } from "./support/kube-apiserver-store";
import { AuditedRequest, describeWithRealKube, realKubeForSuite } from "./support/real-kube-apiserver";
import { createTestPki, removeTestPki } from "./support/test-pki";
import { runCli } from "./support/cli";
import { SEED_POLICY } from "./support/models";


const NP = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" };
const policyRef = (name: string) => ({ ...NP, name, namespace: "default" });

interface Fixture {
  dir: string;
  model: string;
  write(model: Record<string, unknown>): string;
}

function fixture(kubeconfig: string, extra: Record<string, unknown> = {}): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-cli-cluster-"));
  fs.mkdirSync(path.join(dir, "kube"));
  fs.writeFileSync(path.join(dir, "kube", "config.yaml"), kubeconfig);
  const write = (model: Record<string, unknown>) => {
    fs.writeFileSync(path.join(dir, "model.yaml"), stringify(model));
    return path.join(dir, "model.yaml");
  };
  const model = write({
    name: "shop",
    // Relative: resolves against the model file's folder, whatever the working directory.
    cluster: { kubeconfig: "kube/config.yaml", context: "test" },
    namespaces: [{ name: "default", isolation: "DefaultDeny" }],
    networkPolicies: [SEED_POLICY],
    profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80, 443] }], outbound_rules: [{ action: "allow" }] }],
    ...extra,
  });
  return { dir, model, write };
}

let admin: KubeClient;
const dirs: string[] = [];
const track = (f: Fixture) => { dirs.push(f.dir); return f; };
/** A read: get or list. */
const isRead = (q: AuditedRequest) => q.verb === "get" || q.verb === "list";

describeWithRealKube("netpol on a real cluster", () => {
const kube = realKubeForSuite();
beforeAll(async () => {
  admin = await kube.connect();
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("netpol on a cluster: the whole cycle", () => {
  let f: Fixture;
  beforeAll(() => { f = track(fixture(kube.server.kubeconfig())); });

  test("plan on an empty cluster: every object is to be created, nothing is written", async () => {
    const before = await kube.requestCount();
    const r = await runCli(["plan", f.model, "--diff"], os.tmpdir());
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`cluster: context "test" of kubeconfig ${path.join(f.dir, "kube", "config.yaml")} (${kube.server.url})`);
    expect(r.out).toContain("  networking.k8s.io/v1 NetworkPolicy default/default-deny-ingress: create");
    expect(r.out).toContain("  networking.k8s.io/v1 NetworkPolicy default/test-network-policy: create");
    expect(r.out).toContain("  projectcalico.org/v3 Profile web: create");
    expect(r.out).toMatch(/^ +\+ +- port: 6379$/m);
    expect(r.out).toContain("plan: cluster: 3 object(s), 3 to change");
    // Reads, and one server-side dry run per object to write: nothing stored.
    const made = await kube.requestsSince(before);
    expect(made.filter((q) => !isRead(q)).map((q) => [q.verb, q.query.dryRun])).toEqual([["patch", "All"], ["patch", "All"], ["patch", "All"]]);
    expect(await admin.get(policyRef("test-network-policy"))).toBeUndefined();
  });

  test("apply creates the objects with the model's spec, our label and field manager", async () => {
    const r = await runCli(["apply", f.model]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("  networking.k8s.io/v1 NetworkPolicy default/test-network-policy: created");
    expect(r.out).toContain("cluster: 3 object(s), 3 written");
    // Allow policies go in before the namespace's isolation.
    expect(r.out.indexOf("test-network-policy: created")).toBeLessThan(r.out.indexOf("default-deny-ingress: created"));
    const live = await admin.get(policyRef("test-network-policy"));
    expect(live?.spec).toEqual({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    expect(live?.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "pulumi-netpolicy" });
    expect(JSON.stringify(live?.metadata.managedFields)).toContain('"manager":"pulumi-netpolicy"');
    const deny = await admin.get(policyRef("default-deny-ingress"));
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    const profile = await admin.get({ apiVersion: "projectcalico.org/v3", kind: "Profile", name: "web" });
    expect(profile?.spec).toMatchObject({ ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [80, 443] } }] });
  });

  test("plan and status after apply: up to date, in sync; a second apply writes nothing", async () => {
    let r = await runCli(["plan", f.model]);
    expect(r.code).toBe(0);
    expect(r.out.match(/: up to date$/gm)).toHaveLength(3);
    r = await runCli(["status", f.model]);
    expect(r.code).toBe(0);
    expect(r.out.match(/: in sync$/gm)).toHaveLength(3);
    const before = await kube.requestCount();
    const version = (await admin.get(policyRef("test-network-policy")))?.metadata.resourceVersion;
    r = await runCli(["apply", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("cluster: 3 object(s), 0 written");
    expect((await kube.requestsSince(before)).filter((q) => !isRead(q))).toEqual([]);
    expect((await admin.get(policyRef("test-network-policy")))?.metadata.resourceVersion).toBe(version);
  });

  test("a hand edit on the server: status reports drift by its manager, plan shows the lines, apply repairs", async () => {
    const live = await admin.get(policyRef("test-network-policy"));
    const spec = structuredClone(live?.spec) as typeof SEED_POLICY.spec;
    spec.ingress[0].ports[0].port = 6380;
    await admin.replace({ ...live, spec }, { fieldManager: "kubectl-edit" });

    let r = await runCli(["status", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  networking.k8s.io/v1 NetworkPolicy default/test-network-policy: drift: changed by "kubectl-edit"; run apply to repair');
    expect(r.out).toContain("  networking.k8s.io/v1 NetworkPolicy default/default-deny-ingress: in sync");

    r = await runCli(["plan", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: update — 1 line(s) added, 1 removed (edited by kubectl-edit)");
    expect(r.out).toMatch(/^ +- +- port: 6380$/m);
    expect(r.out).toMatch(/^ +\+ +- port: 6379$/m);

    r = await runCli(["apply", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: updated");
    expect(r.out).toContain("cluster: 3 object(s), 1 written");
    expect((await admin.get(policyRef("test-network-policy")))?.spec).toEqual({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    expect((await runCli(["status", f.model])).code).toBe(0);
  });

  test("a model change is 'out of date' in status, not drift", async () => {
    const changed = f.write({ ...fixtureModel(), networkPolicies: [{ ...SEED_POLICY, spec: { ...SEED_POLICY.spec, podSelector: { matchLabels: { role: "cache" } } } }] });
    const r = await runCli(["status", changed]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("test-network-policy: out of date: the model changed since the last apply; run apply");
    f.write(fixtureModel());
  });

  test("destroy deletes our objects and leaves a foreign object of the same namespace alone", async () => {
    await admin.apply({ ...NP, metadata: { name: "other-team", namespace: "default" }, spec: { podSelector: {}, policyTypes: ["Egress"] } }, { fieldManager: "kubectl" });
    let r = await runCli(["destroy", f.model]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: deleted");
    expect(r.out).toContain("cluster: 3 object(s), 3 removed");
    // Isolation goes first, so the namespace never stays closed without its allow policy.
    expect(r.out.indexOf("default-deny-ingress: deleted")).toBeLessThan(r.out.indexOf("test-network-policy: deleted"));
    expect(await admin.get(policyRef("test-network-policy"))).toBeUndefined();
    expect(await admin.get(policyRef("default-deny-ingress"))).toBeUndefined();
    expect(await admin.get({ apiVersion: "projectcalico.org/v3", kind: "Profile", name: "web" })).toBeUndefined();
    expect(await admin.get(policyRef("other-team"))).toBeDefined();

    r = await runCli(["destroy", f.model]);
    expect(r.code).toBe(0);
    expect(r.out.match(/: already gone$/gm)).toHaveLength(3);
    r = await runCli(["status", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("test-network-policy: missing: not in the cluster; run apply");
  });
});

function fixtureModel(): Record<string, unknown> {
  return {
    name: "shop",
    cluster: { kubeconfig: "kube/config.yaml", context: "test" },
    namespaces: [{ name: "default", isolation: "DefaultDeny" }],
    networkPolicies: [SEED_POLICY],
    profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80, 443] }], outbound_rules: [{ action: "allow" }] }],
  };
}

describe("objects that are not ours", () => {
  test("apply refuses a same-name object without our label and writes nothing; destroy leaves it; --adopt takes it over", async () => {
    const f = track(fixture(kube.server.kubeconfig(), { namespaces: [{ name: "default" }], profiles: [] }));
    await admin.apply({ ...SEED_POLICY, spec: { podSelector: {} } }, { fieldManager: "kubectl" });
    const before = await kube.requestCount();
    let r = await runCli(["apply", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("nothing written: 1 object(s) refused");
    expect(r.err).toContain("networking.k8s.io/v1 NetworkPolicy default/test-network-policy: exists but is not managed by pulumi-netpolicy (no label app.kubernetes.io/managed-by=pulumi-netpolicy)");
    expect((await kube.requestsSince(before)).filter((q) => !isRead(q))).toEqual([]);

    r = await runCli(["plan", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("test-network-policy: conflict");

    r = await runCli(["status", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("test-network-policy: not managed by pulumi-netpolicy");

    r = await runCli(["destroy", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: left in place — exists but is not managed by pulumi-netpolicy");
    expect(await admin.get(policyRef("test-network-policy"))).toBeDefined();

    r = await runCli(["apply", f.model, "--adopt"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: adopted");
    expect((await admin.get(policyRef("test-network-policy")))?.spec).toEqual({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    expect((await runCli(["destroy", f.model])).code).toBe(0);
    expect(await admin.get(policyRef("test-network-policy"))).toBeUndefined();
  });

  test("the legacy annotation: the namespace is annotated, never created or deleted; destroy removes only the annotation", async () => {
    const f = track(fixture(kube.server.kubeconfig(), {
      cluster: { kubeconfig: "kube/config.yaml", context: "test", legacyIsolationAnnotation: true },
      namespaces: [{ name: "default", isolation: "DefaultDeny" }], networkPolicies: [], profiles: [],
    }));
    const ns = { apiVersion: "v1", kind: "Namespace", name: "default" };
    let r = await runCli(["apply", f.model]);
    expect(r.err).toBe("");
    expect(r.out).toContain("v1 Namespace default: updated");
    expect((await admin.get(ns))?.metadata.annotations).toEqual({ "net.beta.kubernetes.io/network-policy": '{"ingress":{"isolation":"DefaultDeny"}}' });
    expect((await runCli(["status", f.model])).out).toContain("v1 Namespace default: in sync");
    r = await runCli(["destroy", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("v1 Namespace default: annotation removed (the namespace stays)");
    const after = await admin.get(ns);
    expect(after).toBeDefined();
    expect(after?.metadata.annotations).toBeUndefined();

    const missing = f.write({ name: "shop", cluster: { kubeconfig: "kube/config.yaml", context: "test", legacyIsolationAnnotation: true }, namespaces: [{ name: "nope", isolation: "DefaultDeny" }] });
    r = await runCli(["apply", missing]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('v1 Namespace nope: namespace "nope" does not exist; netpol annotates namespaces but never creates them');
    expect(await admin.get({ ...ns, name: "nope" })).toBeUndefined();
  });
});

describe("bad kubeconfigs and API errors: exit 1, a message naming the cause, no stack trace", () => {
  const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

  test.each([
    ["missing context", (f: Fixture) => f.write({ ...fixtureModel(), cluster: { kubeconfig: "kube/config.yaml", context: "prod" } }),
      (f: Fixture) => `model.yaml: cluster.kubeconfig: kubeconfig ${path.join(f.dir, "kube", "config.yaml")}: context "prod" not found; available contexts: test`],
    ["missing kubeconfig file", (f: Fixture) => f.write({ ...fixtureModel(), cluster: { kubeconfig: "kube/nope.yaml" } }),
      (f: Fixture) => `cluster.kubeconfig: kubeconfig ${path.join(f.dir, "kube", "nope.yaml")}: cannot read the file (ENOENT)`],
    ["unreadable CA file", (f: Fixture) => {
      const config = JSON.parse(kube.server.kubeconfig({ ca: "file" }));
      config.clusters[0].cluster["certificate-authority"] = "ca-gone.crt";
      fs.writeFileSync(path.join(f.dir, "kube", "config.yaml"), JSON.stringify(config));
      return f.model;
    }, (f: Fixture) => `cluster "test-cluster", certificate-authority: cannot read ${path.join(f.dir, "kube", "ca-gone.crt")} (ENOENT)`],
  ])("%s", async (_what, makeModel, message) => {
    const f = track(fixture(kube.server.kubeconfig()));
    const before = await kube.requestCount();
    const r = await runCli(["plan", makeModel(f)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message(f));
    noStack(r.err);
    expect(await kube.requestsSince(before)).toEqual([]);
  });

  test("a wrong token: 401 named with user and context, reported once for the cluster, the token never printed", async () => {
    const f = track(fixture(kube.server.kubeconfig({ token: "stale-token-31337" })));
    for (const cmd of ["plan", "apply", "status", "destroy"]) {
      const r = await runCli([cmd, f.model]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("FAILED: the cluster cannot be used");
      expect(r.err).toContain('401 Unauthorized: Unauthorized — the API server did not accept the credentials of user "test-user" (context "test")');
      expect(r.err.match(/\b401 Unauthorized\b/g)).toHaveLength(1); // not /401/: the server's random port may hold those digits
      expect(r.out + r.err).not.toContain("stale-token-31337");
      noStack(r.err);
    }
  });

  // TEST SERVER: an admission webhook's denial needs a webhook server; the hand-written server imitates its 422.
  test("a 422 from an admission webhook is surfaced with its causes; the other objects are still applied", async () => {
    const denying = await startKubeApiServer();
    try {
      denying.denyWrites("test-network-policy", {
        webhook: "netpol-guard.example.com",
        causes: [{ reason: "FieldValueForbidden", message: "Forbidden: peers in other namespaces need approval", field: "spec.ingress[0].from[0].namespaceSelector" }],
      });
      const f = track(fixture(denying.kubeconfig(), { profiles: [] }));
      const r = await runCli(["apply", f.model]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("networking.k8s.io/v1 NetworkPolicy default/test-network-policy: FAILED");
      expect(r.out).toContain("default-deny-ingress: created");
      expect(r.err).toContain("apply failed on the cluster");
      expect(r.err).toContain('networking.k8s.io/v1 NetworkPolicy default/test-network-policy: 422 Invalid: admission webhook "netpol-guard.example.com" denied the request');
      expect(r.err).toContain("spec.ingress[0].from[0].namespaceSelector: Forbidden: peers in other namespaces need approval");
      noStack(r.err);
      // The denied object was never stored; the other one was.
      expect(denying.store.get(SERVED_TYPES[0], "default", "test-network-policy").status).toBe(404);
      expect(denying.store.get(SERVED_TYPES[0], "default", "default-deny-ingress").status).toBe(200);
      expect((await runCli(["destroy", f.model])).code).toBe(0);
    } finally {
      await denying.close();
    }
  });

  test("host and cluster failures are reported together", async () => {
    const f = track(fixture(kube.server.kubeconfig({ token: "stale-token" }), {
      hosts: [{ name: "h1", ssh: { host: "127.0.0.1", port: 1, user: "root", passwordEnv: "NETPOL_TEST_PASSWORD", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }],
    }));
    const r = await runCli(["apply", f.model], os.tmpdir(), { ...process.env, NETPOL_TEST_PASSWORD: "pw-not-shown" });
    expect(r.code).toBe(1);
    expect(r.out).toContain("h1: FAILED");
    expect(r.out).toContain("FAILED: the cluster cannot be used");
    expect(r.err).toContain("apply failed on 1 of 1 host(s) and the cluster");
    expect(r.err).toMatch(/h1/);
    expect(r.err).toContain("401 Unauthorized");
    expect(r.out + r.err).not.toContain("pw-not-shown");
  }, 60_000);

  test("input problems of hosts and cluster are listed together, before anything is contacted", async () => {
    const f = track(fixture(kube.server.kubeconfig(), { hosts: [{ name: "h1" }], cluster: { kubeconfig: "kube/config.yaml", context: "prod" } }));
    const before = await kube.requestCount();
    const r = await runCli(["apply", f.model]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("2 problems");
    expect(r.err).toContain('hosts[0].ssh: host "h1" has no ssh settings; add ssh: { host, user, privateKeyPath, hostKey } to apply to it (or run with --cluster to act on the cluster only)');
    expect(r.err).toContain('context "prod" not found');
    expect(await kube.requestsSince(before)).toEqual([]);
  });
});

describe("selection and help", () => {
  test("--cluster acts on the cluster only (hosts without ssh are then fine)", async () => {
    const f = track(fixture(kube.server.kubeconfig(), { hosts: [{ name: "h1" }], profiles: [] }));
    const r = await runCli(["plan", f.model, "--cluster"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("plan: cluster: 2 object(s)");
  });

  test("--cluster without a cluster in the model is a usage error", async () => {
    const f = track(fixture(kube.server.kubeconfig()));
    const { cluster: _c, ...noCluster } = fixtureModel();
    const r = await runCli(["plan", f.write({ ...noCluster, hosts: [] }), "--cluster"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--cluster: the model has no cluster");
  });

  test("a model label that would hide ownership is refused before anything is contacted", async () => {
    const f = track(fixture(kube.server.kubeconfig()));
    const labelled = { ...SEED_POLICY, metadata: { ...SEED_POLICY.metadata, labels: { "app.kubernetes.io/managed-by": "helm" } } };
    const r = await runCli(["apply", f.write({ ...fixtureModel(), networkPolicies: [labelled] })]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('networking.k8s.io/v1 NetworkPolicy default/test-network-policy: metadata.labels["app.kubernetes.io/managed-by"] is "helm"');
  });

  test.each(["plan", "apply", "destroy", "status"])("netpol %s --help describes the cluster", async (cmd) => {
    const r = await runCli([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--cluster");
    expect(r.out).toContain("app.kubernetes.io/managed-by=pulumi-netpolicy");
  });

  test("netpol --help mentions the cluster and the exit codes", async () => {
    const r = await runCli(["--help"]);
    expect(r.out).toContain("cluster: { kubeconfig: PATH, context: NAME }");
    expect(r.out).toContain("1 invalid input, a failed host or cluster object");
  });
});

describe("what the real server does that an imitation hid", () => {
  const EMPTIES = {
    ...NP,
    metadata: { name: "empties", namespace: "default" },
    spec: {
      podSelector: { matchLabels: {} },
      ingress: [{ from: [], ports: [] }, { from: [{ ipBlock: { cidr: "10.0.0.0/8", except: [] } }] }],
      egress: [],
    },
  };

  test("empty lists and maps: after apply, plan is up to date, status exits 0, a second apply writes nothing", async () => {
    const f = track(fixture(kube.server.kubeconfig(), {
      namespaces: [{ name: "default" }], networkPolicies: [EMPTIES],
      profiles: [{ id: "QUIET", inbound_rules: [], outbound_rules: [] }],
    }));
    let r = await runCli(["apply", f.model]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    r = await runCli(["plan", f.model]);
    expect(r.code).toBe(0);
    expect(r.out.match(/: up to date$/gm)).toHaveLength(2);
    r = await runCli(["status", f.model]);
    expect(r.out).not.toContain("out of date");
    expect(r.code).toBe(0);
    r = await runCli(["apply", f.model]);
    expect(r.out).toContain("cluster: 2 object(s), 0 written");
    // Stored as the server keeps it: no empty lists, no empty label map, podSelector {} kept.
    expect((await admin.get({ ...NP, name: "empties", namespace: "default" }))?.spec).toEqual({
      podSelector: {}, policyTypes: ["Ingress"], ingress: [{}, { from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
    });
    expect((await runCli(["destroy", f.model])).code).toBe(0);
  });

  test("egress: [] without policyTypes: the stored policyTypes equal what a plain create stores, and reach leaves egress open", async () => {
    const manifest = { ...NP, metadata: { name: "closed-egress", namespace: "default" }, spec: { podSelector: { matchLabels: { app: "a" } }, egress: [] } };
    const f = track(fixture(kube.server.kubeconfig(), {
      namespaces: [{ name: "default" }], networkPolicies: [manifest], profiles: [],
      endpoints: [
        { name: "a", ips: ["10.1.0.1"], namespace: "default", labels: { app: "a" } },
        { name: "b", ips: ["10.1.0.2"], namespace: "default", labels: { app: "b" } },
      ],
    }));
    expect((await runCli(["apply", f.model, "--cluster"])).code).toBe(0);
    const ours = await admin.get({ ...NP, name: "closed-egress", namespace: "default" });
    // What kubectl apply (a create with the manifest as it is) gets from the same server.
    const plain = await kube.server.request("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", { ...manifest, metadata: { name: "plain-closed-egress" } });
    expect(plain.status).toBe(201);
    expect(ours?.spec).toEqual(plain.body.spec);
    expect(plain.body.spec.policyTypes).toEqual(["Ingress"]);
    const reach = await runCli(["reach", f.model, "--probe", "tcp/80", "--format", "json"]);
    expect(reach.code).toBe(0);
    const matrix = JSON.parse(reach.out).probes[0].matrix;
    expect(matrix.a.b).toBe(true);
    expect(matrix.b.a).toBe(false);
    expect(await kube.server.request("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/plain-closed-egress")).toMatchObject({ status: 200 });
    expect((await runCli(["destroy", f.model, "--cluster"])).code).toBe(0);
  });

  test("another server-side-apply manager's edit is drift named after it; apply restores the model's value", async () => {
    const f = track(fixture(kube.server.kubeconfig(), { namespaces: [{ name: "default" }], profiles: [] }));
    expect((await runCli(["apply", f.model])).code).toBe(0);
    const spec = structuredClone({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    spec.ingress[0].ports[0].port = 7000;
    await admin.apply({ ...NP, metadata: { name: "test-network-policy", namespace: "default" }, spec }, { fieldManager: "someone-else", force: true });
    let r = await runCli(["status", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('test-network-policy: drift: changed by "someone-else"; run apply to repair');
    r = await runCli(["apply", f.model]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect((await admin.get(policyRef("test-network-policy")))?.spec).toEqual({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    expect((await runCli(["status", f.model])).code).toBe(0);
    expect((await runCli(["destroy", f.model])).code).toBe(0);
  });

  test("a field another apply manager co-owns is still removed when the model drops it", async () => {
    const withEgress = { ...SEED_POLICY, spec: { ...SEED_POLICY.spec, egress: [{ ports: [{ protocol: "UDP", port: 53 }] }] } };
    const f = track(fixture(kube.server.kubeconfig(), { namespaces: [{ name: "default" }], networkPolicies: [withEgress], profiles: [] }));
    expect((await runCli(["apply", f.model])).code).toBe(0);
    // The same values, applied by someone else: no conflict, the fields are now co-owned.
    const live = await admin.get(policyRef("test-network-policy"));
    await admin.apply({ ...NP, metadata: { name: "test-network-policy", namespace: "default" }, spec: live?.spec }, { fieldManager: "someone-else" });
    f.write({ ...fixtureModel(), namespaces: [{ name: "default" }], profiles: [] });
    const r = await runCli(["apply", f.model]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect((await admin.get(policyRef("test-network-policy")))?.spec).toEqual({ ...SEED_POLICY.spec, policyTypes: ["Ingress"] });
    expect((await runCli(["status", f.model])).code).toBe(0);
    expect((await runCli(["destroy", f.model])).code).toBe(0);
  });

  test("plan dry-runs every write: what the server refuses fails the plan with its message, and nothing is stored", async () => {
    const elsewhere = { ...SEED_POLICY, metadata: { name: "elsewhere", namespace: "nowhere" } };
    const f = track(fixture(kube.server.kubeconfig(), { namespaces: [{ name: "default" }], networkPolicies: [SEED_POLICY, elsewhere], profiles: [] }));
    const r = await runCli(["plan", f.model]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("networking.k8s.io/v1 NetworkPolicy nowhere/elsewhere: FAILED");
    expect(r.err).toContain('networking.k8s.io/v1 NetworkPolicy nowhere/elsewhere: 404 NotFound: namespaces "nowhere" not found');
    expect(r.out).toContain("networking.k8s.io/v1 NetworkPolicy default/test-network-policy: create");
    expect(await admin.get(policyRef("test-network-policy"))).toBeUndefined();
  });

  test.each([
    ["a named port with --", { ingress: [{ ports: [{ port: "web--ui" }] }] }, "networkPolicies[0].spec.ingress[0].ports[0].port"],
    ["an except equal to its cidr", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] } }] }] }, "networkPolicies[0].spec.ingress[0].from[0].ipBlock.except[0]"],
  ])("the schema refuses what the server would (%s), before anything is contacted", async (_what, spec, where) => {
    const bad = { ...SEED_POLICY, spec: { podSelector: {}, ...spec } };
    const f = track(fixture(kube.server.kubeconfig(), { namespaces: [{ name: "default" }], networkPolicies: [bad], profiles: [] }));
    const before = await kube.requestCount();
    const r = await runCli(["plan", f.model]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(where);
    expect(await kube.requestsSince(before)).toEqual([]);
    // The server agrees: the same object is refused with 422.
    const answer = await kube.server.request("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies?dryRun=All", bad);
    expect(answer.status).toBe(422);
  });

  test("a user who may only read: plan works and says the dry run was refused; apply fails with 403 and writes nothing", async () => {
    const f = track(fixture(kube.server.kubeconfig({ user: "reader" }), { namespaces: [{ name: "default" }], profiles: [] }));
    let r = await runCli(["plan", f.model]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("test-network-policy: create");
    expect(r.out).toContain("the server's dry run was refused");
    r = await runCli(["apply", f.model]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('403 Forbidden: networkpolicies.networking.k8s.io "test-network-policy" is forbidden: User "reader" cannot patch resource "networkpolicies"');
    expect(r.err).toContain('lacks the RBAC permission');
    expect(await admin.get(policyRef("test-network-policy"))).toBeUndefined();
  });

  test("a user with no bindings: plan and status fail with 403 naming the user and the verb", async () => {
    const f = track(fixture(kube.server.kubeconfig({ user: "nobody" }), { namespaces: [{ name: "default" }], profiles: [] }));
    for (const cmd of ["plan", "status"]) {
      const r = await runCli([cmd, f.model]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('User "nobody" cannot get resource "networkpolicies" in API group "networking.k8s.io" in the namespace "default"');
    }
  });

  test("the example README's role (get, list, create, patch, delete on networkpolicies) is enough for the whole cycle", async () => {
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "netpol-deployer", namespace: "default" },
      rules: [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "create", "patch", "delete"] }] };
    const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "netpol-deployer", namespace: "default" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "netpol-deployer" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "nobody" }] };
    expect((await kube.server.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", role)).status).toBe(201);
    expect((await kube.server.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", binding)).status).toBe(201);
    try {
      const f = track(fixture(kube.server.kubeconfig({ user: "nobody" }), { namespaces: [{ name: "default" }], profiles: [] }));
      for (const cmd of ["plan", "apply", "status", "destroy"]) {
        const r = await runCli([cmd, f.model]);
        expect([cmd, r.err]).toEqual([cmd, ""]);
        expect(r.code).toBe(0);
      }
    } finally {
      await kube.server.request("DELETE", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/netpol-deployer");
      await kube.server.request("DELETE", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/netpol-deployer");
    }
  });

  test("netpol convert prints exactly the objects apply writes: the live spec and labels equal its output", async () => {
    const f = track(fixture(kube.server.kubeconfig()));
    const printed = await runCli(["convert", f.model, "--format", "json"]);
    expect(printed.code).toBe(0);
    const items = JSON.parse(printed.out).items as KubeObject[];
    expect(items.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual(["NetworkPolicy default-deny-ingress", "NetworkPolicy test-network-policy", "Profile web"]);
    expect((await runCli(["apply", f.model])).code).toBe(0);
    for (const item of items) {
      const live = await admin.get({ apiVersion: item.apiVersion, kind: item.kind, name: item.metadata.name, namespace: item.metadata.namespace });
      expect([item.metadata.name, live?.spec]).toEqual([item.metadata.name, item.spec]);
      expect(live?.metadata.labels).toEqual(item.metadata.labels);
    }
    expect((await runCli(["destroy", f.model])).code).toBe(0);
  });

  test("a kubeconfig with another CA: the message says that CA did not sign the server's certificate", async () => {
    const other = await createTestPki();
    try {
      const config = JSON.parse(kube.server.kubeconfig());
      config.clusters[0].cluster["certificate-authority-data"] = Buffer.from(other.caPem).toString("base64");
      const f = track(fixture(JSON.stringify(config)));
      const r = await runCli(["plan", f.model]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('is not the CA that signed the server\'s certificate');
    } finally {
      await removeTestPki(other);
    }
  });
});

describe("a server that does not serve projectcalico.org/v3 (no Calico API server)", () => {
  const bare = realKubeForSuite({ calico: false });

  test("plan, status and destroy of a Calico model exit 1 naming the group/version, not 'create' / 'missing' / 'already gone'", async () => {
    const f = track(fixture(bare.server.kubeconfig(), { namespaces: [{ name: "default" }], networkPolicies: [] }));
    for (const cmd of ["plan", "status", "destroy"]) {
      const r = await runCli([cmd, f.model]);
      expect([cmd, r.code]).toEqual([cmd, 1]);
      expect(r.err).toContain("projectcalico.org/v3 Profile web: the API server at");
      expect(r.err).toContain("does not serve projectcalico.org/v3");
      expect(r.err).toContain("Calico API server");
      expect(r.out).not.toMatch(/: (create|missing|already gone)/);
    }
  });
});

describe("an API server that goes away", () => {
  test("after kube-apiserver stops, every command fails once for the cluster: cannot reach it", async () => {
    const f = track(fixture(kube.server.kubeconfig()));
    await kube.server.stopApiServer();
    for (const cmd of ["plan", "status"]) {
      const r = await runCli([cmd, f.model]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("FAILED: the cluster cannot be used");
      expect(r.err).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED, context "test"\)/);
    }
  });
});
});

describe("comparing a live object with the model (pure)", () => {
  const model = parseModelText(stringify({
    networkPolicies: [{ ...SEED_POLICY, spec: { ...SEED_POLICY.spec, ingress: [{ ports: [{ port: 53 }] }] } }],
    policies: [{ name: "db", selector: "role == 'db'", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [5432] }] }],
  }), "m.yaml");
  const [np, gnp] = desiredObjects(model, "m.yaml");
  const live = (o: { apiVersion: string; kind: string; metadata: object; spec?: unknown }, spec: unknown, labels: Record<string, string> = { "app.kubernetes.io/managed-by": "pulumi-netpolicy" }): KubeObject =>
    ({ ...o, metadata: { ...o.metadata, labels, managedFields: [] }, spec } as unknown as KubeObject);

  test("the API server's defaults are written into the desired NetworkPolicy, so a defaulted live object is in sync", () => {
    expect(np.object.spec).toEqual({ podSelector: SEED_POLICY.spec.podSelector, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: 53, protocol: "TCP" }] }] });
    const defaulted = { podSelector: SEED_POLICY.spec.podSelector, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "TCP", port: 53 }] }] };
    expect(compare(np, live(np.object, defaulted)).inSync).toBe(true);
  });

  test.each([
    ["a field added to a NetworkPolicy spec", { egress: [{}] }],
    ["a peer added by hand", { ingress: [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 53 }] }] }],
    ["a changed port", { ingress: [{ ports: [{ protocol: "TCP", port: 54 }] }] }],
  ])("%s is a difference", (_what, change) => {
    const spec = { ...(np.object.spec as object), ...change };
    expect(compare(np, live(np.object, spec)).inSync).toBe(false);
  });

  test("Calico objects: fields the model does not write (server defaults) are not compared, written ones are", () => {
    const spec = structuredClone(gnp.object.spec) as { ingress: Record<string, unknown>[] };
    expect(compare(gnp, live(gnp.object, { ...spec, tier: "default", ingress: [{ ...spec.ingress[0], metadata: {} }] })).inSync).toBe(true);
    expect(compare(gnp, live(gnp.object, { ...spec, selector: "role == 'web'" })).inSync).toBe(false);
  });

  test("a missing managed-by label is a difference (and makes the object not ours)", () => {
    expect(compare(np, live(np.object, np.object.spec, {})).inSync).toBe(false);
  });

  test("line diff: changed lines with context, skipped stretches marked", () => {
    const before = ["a", "b", "c", "d", "e", "f", "g", "h"].join("\n");
    const after = ["a", "b", "c", "d", "E", "f", "g", "h"].join("\n");
    expect(formatDiff(diffLines(before, after), { context: 1 })).toEqual(["  …", "  d", "- e", "+ E", "  f", "  …"]);
    expect(diffLines("", "x\ny").map((l) => `${l.op}${l.text}`)).toEqual(["+x", "+y"]);
  });
});
