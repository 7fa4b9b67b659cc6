/**
 * A program of a Profile, a Policy and a NetworkPolicy written with empty lists and maps
 * (test/engine/fixtures/cluster-documents) through the engine harness, against a REAL
 * kube-apiserver (v1.26.3 with etcd; test/support/real-kube-apiserver.ts). Calico's
 * projectcalico.org/v3 kinds are served by CustomResourceDefinitions standing in for the Calico API
 * server; removing them (last) leaves a cluster without the Calico API, as one whose
 * calico-apiserver was uninstalled.
 *
 * up then refresh: no drift, though the server dropped the empty lists; another server-side-apply
 * manager's edit is drift, and up with force takes it back; without the Calico API a refresh and a
 * destroy fail naming projectcalico.org/v3 and keep the Calico resources in the state, and a new up
 * fails the same way.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "../../provider/targets/kube/client";
import { loadState } from "./state";
import { describeWithRealKube, RealKubeApiServer, startRealKubeApiServer } from "../support/real-kube-apiserver";
import { runEngine } from "./run-engine";

const PROGRAM = path.join(__dirname, "fixtures", "cluster-documents");
const NP_REF = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: "empties", namespace: "default" };
const PROFILE_REF = { apiVersion: "projectcalico.org/v3", kind: "Profile", name: "quiet" };
const NOT_SERVED = /does not serve projectcalico\.org\/v3 .*Calico API server/;

let server: RealKubeApiServer;
let admin: KubeClient;
let dir: string;

describeWithRealKube("Calico documents and empty lists through the engine on a real kube-apiserver", () => {
  beforeAll(async () => {
    server = await startRealKubeApiServer();
    admin = await KubeClient.connect({ inline: server.kubeconfig() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-engine-documents-"));
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = () => path.join(dir, "state.json");
  const engine = (op: string, ...extra: string[]) => runEngine([op, PROGRAM, "--state", state(), "--secret", `kubeconfigContent=${server.kubeconfig()}`, ...extra]);
  /** The URNs' names of the resources in the state. */
  const inState = () => loadState(state(), "cluster-documents", "dev").resources.filter((r) => r.custom).map((r) => r.name).sort();

  it("up then refresh reports no drift, and a second up changes nothing, though the server dropped the empty lists", async () => {
    const up = await engine("up");
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("+ 3 created");
    // Stored as the server keeps it: no empty lists, no empty label map.
    expect((await admin.get(NP_REF))?.spec).toEqual({
      podSelector: {}, policyTypes: ["Ingress"], ingress: [{}, { from: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "TCP", port: 443 }] }],
    });
    expect((await admin.get(PROFILE_REF))?.spec).not.toHaveProperty("egress");

    const refresh = await engine("refresh");
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toContain("0 drifted");
    expect(refresh.stdout).toContain("3 unchanged");
    expect(refresh.stdout).not.toContain("drift:");
    const again = await engine("up");
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/[~+] \d+ (updated|created|replaced)/);
  }, 240_000);

  it("another server-side-apply manager's edit: refresh reports the drift; up without force fails with its 409, with force takes it back", async () => {
    const live = await admin.get(NP_REF);
    const spec = structuredClone(live?.spec) as { ingress: { ports?: { port: number }[] }[] };
    spec.ingress[1].ports = [{ port: 8443 }];
    await admin.apply({ apiVersion: NP_REF.apiVersion, kind: NP_REF.kind, metadata: { name: "empties", namespace: "default" }, spec }, { fieldManager: "someone-else", force: true });

    const refresh = await engine("refresh");
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toMatch(/pulumi-nodejs:dynamic\/netpol:NetworkPolicy {2}empties {2}drift/);
    expect(refresh.stdout).toContain('+ drift: "changed in the cluster: spec.ingress[1].ports[0].port: 443 → 8443"');
    expect(refresh.stdout).toContain("1 drifted");

    const refused = await engine("up");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('409 Conflict: Apply failed with 1 conflict: conflict with "someone-else"');
    const repaired = await engine("up", "--config", "force=true");
    expect(repaired.stderr).toBe("");
    expect(repaired.code).toBe(0);
    expect((await admin.get(NP_REF))?.spec).toMatchObject({ ingress: [{}, { ports: [{ port: 443 }] }] });
    expect((await engine("refresh", "--config", "force=true")).stdout).toContain("0 drifted");
  }, 240_000);

  // Last: it takes the Calico API away.
  it("without the Calico API: refresh and destroy fail naming projectcalico.org/v3 and keep the Calico resources in the state; a new up fails the same way", async () => {
    await removeCalicoApi(server);

    const refresh = await engine("refresh", "--config", "force=true");
    expect(refresh.code).toBe(1);
    expect(refresh.stdout).toMatch(/Profile quiet: refresh failed: Profile QUIET: reading the object back failed: projectcalico\.org\/v3 Profile quiet: /);
    expect(refresh.stdout).toMatch(/Policy allow-db: refresh failed: Policy allow-db: reading the object back failed: /);
    expect(refresh.stdout).toMatch(NOT_SERVED);
    expect(inState()).toEqual(["allow-db", "empties", "quiet"]);

    const destroy = await engine("destroy");
    expect(destroy.code).toBe(1);
    expect(destroy.stdout).toMatch(/Profile quiet: delete failed: .*does not serve projectcalico\.org\/v3/);
    expect(destroy.stdout).toContain("- 1 deleted");
    expect(await admin.get(NP_REF)).toBeUndefined();
    expect(inState()).toEqual(["allow-db", "quiet"]);

    const fresh = await runEngine(["up", PROGRAM, "--state", path.join(dir, "fresh.json"), "--secret", `kubeconfigContent=${server.kubeconfig()}`]);
    expect(fresh.code).toBe(1);
    expect(fresh.stdout).toMatch(/server-side apply failed: projectcalico\.org\/v3 (Profile quiet|GlobalNetworkPolicy allow-db): .*does not serve projectcalico\.org\/v3/);
  }, 240_000);
});

/** Deletes the CRDs standing in for the Calico API server and waits until the group is not served. */
async function removeCalicoApi(on: RealKubeApiServer): Promise<void> {
  for (const plural of ["profiles", "globalnetworkpolicies", "networkpolicies"]) {
    expect((await on.request("DELETE", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.projectcalico.org`)).status).toBe(200);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = await on.request("GET", "/apis/projectcalico.org/v3/profiles");
    if (answer.status === 404 && typeof answer.body === "string") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("projectcalico.org/v3 was still served 10 s after its CRDs were deleted");
}
