/**
 * NetworkPolicy import through the SDK's real dynamic provider server (gRPC Read), against a REAL
 * kube-apiserver (v1.26.3 with etcd; test/support/real-kube-apiserver.ts). It shows what
 * works with the engine as it is: a Read that carries the program's inputs (the cluster and the
 * serialized provider) fills the document from the live object and hands back inputs, as an
 * import needs. A Read with nothing but the id — what the engine's import step sends today — cannot
 * even load a dynamic provider (pulumi/pulumi#16175); this test pins that down so a fix upstream
 * is noticed.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { networkPolicyProvider } from "../../provider/resources/document-providers";
import { ProviderServer, ResourceRef } from "../engine/provider-client";
import { KubeClient } from "../../provider/targets/kube/client";
import { describeWithRealKube, RealKubeApiServer, startRealKubeApiServer, TOKENS } from "../support/real-kube-apiserver";

const REF: ResourceRef = { urn: "urn:pulumi:dev::netpol::pulumi-nodejs:dynamic/netpol:NetworkPolicy::legacy", type: "pulumi-nodejs:dynamic/netpol:NetworkPolicy", name: "legacy" };

describeWithRealKube("NetworkPolicy import through the dynamic provider server (real API server)", () => {
  let kube: RealKubeApiServer;
  let server: ProviderServer;
  let providerText: string;
  beforeAll(async () => {
    kube = await startRealKubeApiServer({ calico: false });
    const live = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "legacy", namespace: "default" }, spec: { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }] } };
    await (await KubeClient.connect({ inline: kube.kubeconfig() })).apply(live, { fieldManager: "kubectl" });
    providerText = (await pulumi.runtime.serializeFunction(() => networkPolicyProvider, { allowSecrets: true })).text;
    server = await ProviderServer.start(path.resolve(__dirname, "../.."));
    await server.configure({});
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await kube?.close();
  });

  it("a Read that carries the cluster fills the document and returns inputs", async () => {
    // The reader may get: an import needs no more.
    const cluster = { kubeconfigContent: kube.kubeconfig({ user: "reader" }) };
    // The server of @pulumi/pulumi 3.248 (the newest for Node 20) loads the provider from the Read's
    // properties only (3.270's also falls back to the inputs), so both carry them.
    const known = { __provider: providerText, apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", cluster };
    const read = await server.read(REF, "default/legacy", known, known);
    expect(read.id).toBe("default/legacy");
    const doc = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "legacy", namespace: "default" }, spec: { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }] } };
    // The live object is what the server stored: policyTypes defaulted.
    const stored = { ...doc, spec: { ...doc.spec, policyTypes: ["Ingress"] } };
    const { __provider: _provider, ...inputs } = read.inputs ?? {};
    expect(inputs).toEqual({ ...stored, cluster });
    expect(read.properties).toMatchObject({ ...stored, document: stored });
    const { cluster: _c, __provider: _p, ...shown } = read.properties;
    expect(JSON.stringify(shown)).not.toContain(TOKENS.reader);
  }, 60_000);

  it("a Read with only the id (the engine's import step today) cannot load a dynamic provider", async () => {
    await expect(server.read(REF, "default/legacy", {}, {})).rejects.toThrow(/code must be a string/);
  }, 60_000);
});
