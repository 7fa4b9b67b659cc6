/**
 * Both doors onto the deploy layer agree on a cluster: examples/kubernetes-networkpolicy through
 * the engine harness (`pulumi up`) and a model file with the same NetworkPolicy through the
 * `netpol` CLI, against a REAL kube-apiserver (v1.26.3 with etcd; test/support/real-kube-apiserver.ts).
 * What `pulumi up` writes is ours and in sync for `netpol status`; a hand edit, and an edit by
 * another server-side-apply manager, is drift for both doors, and repaired by `netpol apply` it is
 * no drift for the next refresh; what `netpol apply` writes is in sync for the resource too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { KubeClient } from "../../provider/targets/kube/client";
import { runEngine } from "../engine/run-engine";
import { runCli } from "../support/cli";
import { describeWithRealKube, RealKubeApiServer, startRealKubeApiServer } from "../support/real-kube-apiserver";
import { SEED_POLICY } from "../support/models";

const PROGRAM = path.resolve(__dirname, "..", "..", "examples", "kubernetes-networkpolicy");
const ref = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: "test-network-policy", namespace: "default" };
const TITLE = "networking.k8s.io/v1 NetworkPolicy default/test-network-policy";

let server: RealKubeApiServer;
let admin: KubeClient;
let dir: string;

describeWithRealKube("both doors on a real kube-apiserver", () => {
beforeAll(async () => {
  // NetworkPolicies only: no Calico API needed.
  server = await startRealKubeApiServer({ calico: false });
  admin = await KubeClient.connect({ inline: server.kubeconfig() });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-two-doors-cluster-"));
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("pulumi up → netpol status in sync; a hand edit repaired by netpol apply → refresh without drift", async () => {
  const kubeconfig = path.join(dir, "kubeconfig.yaml");
  fs.writeFileSync(kubeconfig, server.kubeconfig());
  const engine = async (op: string) => {
    const r = await runEngine([op, PROGRAM, "--state", path.join(dir, "state.json"), "--config", `kubeconfig=${kubeconfig}`, "--config", "context=test"]);
    if (r.code !== 0) throw new Error(`${op} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const model = path.join(dir, "model.yaml");
  fs.writeFileSync(model, stringify({ name: "seed", cluster: { kubeconfig: "kubeconfig.yaml", context: "test" }, networkPolicies: [SEED_POLICY] }));

  expect(await engine("up")).toContain("+ 1 created");
  let r = await runCli(["status", model]);
  expect(r.err).toBe("");
  expect(r.out).toContain(`  ${TITLE}: in sync`);
  expect(r.code).toBe(0);
  r = await runCli(["plan", model]);
  expect(r.out).toContain(`  ${TITLE}: up to date`);
  expect(r.out).toContain("plan: cluster: 1 object(s), 0 to change");

  // kubectl edit changes the port; both doors see it; netpol apply takes it back.
  const live = await admin.get(ref);
  const edited = structuredClone(live) as NonNullable<typeof live>;
  (edited.spec as typeof SEED_POLICY.spec).ingress[0].ports[0].port = 6390;
  await admin.replace(edited, { fieldManager: "kubectl-edit" });
  r = await runCli(["status", model]);
  expect(r.out).toContain(`  ${TITLE}: drift: changed by "kubectl-edit"`);
  expect(r.code).toBe(1);
  const drifted = await engine("refresh");
  expect(drifted).toContain("1 drifted");
  r = await runCli(["apply", model]);
  expect(r.err).toBe("");
  expect(r.out).toContain(`  ${TITLE}: updated`);
  expect((await admin.get(ref))?.spec).toMatchObject({ ingress: [{ ports: [{ port: 6379 }] }] });
  // The refresh after the repair drops the drift the last one found, and reports none of its own.
  const repaired = await engine("refresh");
  expect(repaired).toContain('- drift: "changed in the cluster: spec.ingress[0].ports[0].port: 6379 → 6390"');
  expect(repaired).not.toMatch(/^ +[+~] drift:/m);
  expect(await engine("refresh")).toContain("0 drifted");

  // Another server-side-apply manager (kubectl apply --server-side --force-conflicts): the same, named after it.
  const spec = structuredClone((await admin.get(ref))?.spec) as typeof SEED_POLICY.spec;
  spec.ingress[0].ports[0].port = 7000;
  await admin.apply({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, spec }, { fieldManager: "someone-else", force: true });
  r = await runCli(["status", model]);
  expect(r.out).toContain(`  ${TITLE}: drift: changed by "someone-else"`);
  expect(r.code).toBe(1);
  expect(await engine("refresh")).toContain('+ drift: "changed in the cluster: spec.ingress[0].ports[0].port: 6379 → 7000"');
  r = await runCli(["apply", model]);
  expect(r.err).toBe("");
  expect(r.out).toContain(`  ${TITLE}: updated`);
  expect(await engine("refresh")).not.toMatch(/^ +[+~] drift:/m);

  // What netpol apply wrote, the resource keeps: an up after it changes nothing.
  expect(await engine("up")).not.toMatch(/[~+] 1 (updated|created)/);
  expect((await runCli(["status", model])).code).toBe(0);

  expect(await engine("destroy")).toContain("- 1 deleted");
  r = await runCli(["status", model]);
  expect(r.out).toContain(`  ${TITLE}: missing: not in the cluster; run apply`);
}, 240_000);
});
