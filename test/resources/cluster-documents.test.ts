/**
 * Profile, Policy and NetworkPolicy with a cluster target, against a REAL kube-apiserver (v1.26.3
 * with etcd; test/support/real-kube-apiserver.ts), RBAC on, token users admin / reader / nobody.
 * Calico's projectcalico.org/v3 Profile and GlobalNetworkPolicy are served by CustomResourceDefinitions
 * standing in for the Calico API server; a second server serves no Calico API at all (and is the
 * "other cluster" where two are needed). What the provider requested is read from the audit log.
 *
 * Covers the Calico v3 writes, refresh and drift (a hand edit, another server-side-apply manager),
 * empty lists, 401 / 403 / 409 / 422 / TLS / unreachable, a group that is not served, replace on
 * identity change, NetworkPolicy import by `namespace/name`, which cluster a kubeconfig names (the
 * server it resolves to), and that the kubeconfig's token never reaches outputs or errors.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { parse as parseYaml, stringify } from "yaml";
import { UNKNOWN } from "../../provider/resources/inputs";
import { checkDocument, createDocument, deleteDocument, diffDocument, DocumentKind, readDocument, updateDocument } from "../../provider/resources/document-operations";
import { KubeClient, ObjectRef } from "../../provider/targets/kube/client";
import { AuditedRequest, describeWithRealKube, RealKubeApiServer, startRealKubeApiServer, TOKENS } from "../support/real-kube-apiserver";
import { bindClusterRole, clientCertificateKubeconfig, serviceAccountToken } from "../support/real-kube-users";
import { createTestPki, removeTestPki } from "../support/test-pki";

const web = { profileId: "WEB", inbound_rules: [{ action: "allow", src_tag: "WEB" }, { action: "allow", protocol: "tcp", dst_ports: [80, "8000:8080"] }], outbound_rules: [{ action: "allow" }] };
const allowDb = { name: "allow-db", order: 10, selector: "role == 'db'", inbound_rules: [{ action: "allow", protocol: "tcp", src_selector: "role == 'app'", dst_ports: [5432] }] };
const NP = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" };
const np = { ...NP, metadata: { name: "web", namespace: "default" }, spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }] } };
const npRef = (name: string): ObjectRef => ({ ...NP, name, namespace: "default" });
const profileRef = (name: string): ObjectRef => ({ apiVersion: "projectcalico.org/v3", kind: "Profile", name });

/** What check hands create: the inputs plus the computed keys. */
function checked(kind: DocumentKind, news: Record<string, unknown>): Record<string, unknown> {
  const r = checkDocument(kind, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}

/** The message of a rejected promise (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

let server: RealKubeApiServer;
/** A server without projectcalico.org/v3 (no Calico API server); the "other cluster" too. */
let bare: RealKubeApiServer;
let admin: KubeClient;
let bareAdmin: KubeClient;
let cluster: Record<string, unknown>;
const TOKEN = TOKENS.admin;

const isWrite = (q: AuditedRequest) => q.verb !== "get" && q.verb !== "list" && q.verb !== "watch";
/** The writes since `before` (a count from an earlier `requests()`). */
const writesSince = async (before: number) => (await server.requests(before)).filter(isWrite);

describeWithRealKube("document resources on a real kube-apiserver", () => {
  beforeAll(async () => {
    [server, bare] = await Promise.all([startRealKubeApiServer(), startRealKubeApiServer({ calico: false })]);
    admin = await KubeClient.connect({ inline: server.kubeconfig() });
    bareAdmin = await KubeClient.connect({ inline: bare.kubeconfig() });
    cluster = { kubeconfigContent: server.kubeconfig() };
  });
  afterAll(async () => { await Promise.all([server?.close(), bare?.close()]); });

  const noSecret = (v: unknown) => {
    const { cluster: _c, ...rest } = v as Record<string, unknown>;
    expect(JSON.stringify(rest)).not.toContain(TOKEN);
  };

  describe("Profile and Policy written as Calico v3 (CRDs standing in for the Calico API server)", () => {
    it("Profile: check shows the v3 object; create applies it; refresh in sync; hand edit = drift; update repairs with force; delete", async () => {
      const inputs = checked("profile", { ...web, cluster });
      expect(inputs.calicoObject).toMatchObject({ apiVersion: "projectcalico.org/v3", kind: "Profile", metadata: { name: "web" }, spec: { labelsToApply: { WEB: "" } } });

      const before = await server.requestCount();
      const created = await createDocument("profile", inputs);
      expect(created.id).toBe("web");
      expect(created.outs.live).toMatchObject({ kind: "Profile", spec: { ingress: [{ action: "Allow", source: { selector: "has(WEB)" } }, { action: "Allow", protocol: "TCP", destination: { ports: [80, "8000:8080"] } }] } });
      expect(await writesSince(before)).toEqual([
        { verb: "patch", path: "/apis/projectcalico.org/v3/profiles/web", query: { fieldManager: "pulumi-netpolicy", force: "false" }, user: "admin", code: 201 },
      ]);
      noSecret(created.outs);

      const fresh = await readDocument("profile", created.id, created.outs);
      expect(fresh.props.drift).toBeUndefined();
      expect(await diffDocument("profile", fresh.props, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

      // Someone edits the profile by hand (a PUT by another field manager, as `kubectl edit` does).
      const stored = structuredClone(await admin.get(profileRef("web")));
      const spec = stored?.spec as { ingress: { destination?: { ports: unknown[] } }[] };
      spec.ingress[1].destination = { ports: [81] };
      await admin.replace(stored, { fieldManager: "kubectl-edit" });

      const drifted = await readDocument("profile", created.id, fresh.props);
      expect(drifted.id).toBe("web");
      expect(drifted.props.drift).toBe('changed in the cluster: spec.ingress[1].destination.ports: [80,"8000:8080"] → [81]');
      expect(drifted.props.live).toMatchObject({ spec: { ingress: [{}, { destination: { ports: [81] } }] } });
      expect((await diffDocument("profile", drifted.props, inputs)).changes).toBe(true);

      // The hand edit owns the field now: without force the repair is a 409 naming the owner and the input.
      expect(await failure(updateDocument("profile", inputs))).toMatch(
        /^Profile WEB: server-side apply failed: projectcalico\.org\/v3 Profile web: 409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-edit".*\.spec\.ingress.*apply with force: true.*\(input property: inbound_rules\)$/s);
      const forced = checked("profile", { ...web, cluster: { ...cluster, force: true } });
      const repaired = await updateDocument("profile", forced);
      expect(repaired.outs.live).toMatchObject({ spec: { ingress: [{}, { destination: { ports: [80, "8000:8080"] } }] } });
      expect((await readDocument("profile", "web", repaired.outs)).props.drift).toBeUndefined();

      await deleteDocument("profile", repaired.outs);
      expect(await admin.get(profileRef("web"))).toBeUndefined();
      await expect(deleteDocument("profile", repaired.outs)).resolves.toBeUndefined(); // 404 = already gone
      expect(await readDocument("profile", "web", repaired.outs)).toEqual({ id: "", props: {} });
    });

    it("Policy: written as a GlobalNetworkPolicy with order, selector and types; refresh reads it back", async () => {
      const inputs = checked("policy", { ...allowDb, cluster });
      const before = await server.requestCount();
      const created = await createDocument("policy", inputs);
      expect(created.id).toBe("allow-db");
      expect((await writesSince(before)).map((q) => q.path)).toEqual(["/apis/projectcalico.org/v3/globalnetworkpolicies/allow-db"]);
      expect(await admin.get({ apiVersion: "projectcalico.org/v3", kind: "GlobalNetworkPolicy", name: "allow-db" })).toMatchObject({
        spec: { order: 10, selector: "role == 'db'", types: ["Ingress"], ingress: [{ action: "Allow", protocol: "TCP", source: { selector: "role == 'app'" }, destination: { ports: [5432] } }] },
      });
      const read = await readDocument("policy", created.id, created.outs);
      expect(read.props.drift).toBeUndefined();
      expect(read.props.document).toEqual(created.outs.document);

      // Changing a rule is an update (same object), changing the name or the cluster a replacement.
      const changed = checked("policy", { ...allowDb, order: 20, cluster });
      expect(await diffDocument("policy", read.props, changed)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      expect((await updateDocument("policy", changed)).outs.live).toMatchObject({ spec: { order: 20 } });
      expect((await diffDocument("policy", read.props, { ...changed, name: "allow-db-2" })).replaces).toEqual(["name"]);
      expect((await diffDocument("policy", read.props, { ...changed, cluster: { ...cluster, context: "prod" } })).replaces).toEqual(["cluster"]);
      expect((await diffDocument("profile", { ...web, cluster }, { ...web, profileId: "APP", cluster })).replaces).toEqual(["profileId"]);
      await deleteDocument("policy", created.outs);
    });

    it("empty rule lists: up then refresh is in sync, and the next diff has no changes", async () => {
      const inputs = checked("profile", { profileId: "QUIET", tags: [], inbound_rules: [], outbound_rules: [], cluster });
      const created = await createDocument("profile", inputs);
      const read = await readDocument("profile", created.id, created.outs);
      expect(read.props.drift).toBeUndefined();
      expect(await diffDocument("profile", read.props, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
      await deleteDocument("profile", read.props);
    });

    it("a value Calico refuses (422) names the resource, the API's cause and the input property", async () => {
      // Calico's API server refuses an ICMP type above 254. The CRD standing in for it does not
      // validate rules, so it is given that one rule of Calico's validation: the real server's 422.
      await refuseIcmpTypesAbove254(server);
      const bad = checked("profile", { profileId: "PING", inbound_rules: [{ action: "allow", protocol: "icmp", icmp_type: 255 }], cluster });
      expect(await failure(createDocument("profile", bad))).toMatch(
        /^Profile PING: server-side apply failed: projectcalico\.org\/v3 Profile ping: 422 Invalid: Profile\.projectcalico\.org "ping" is invalid: spec\.ingress\[0\]\.icmp\.type: Invalid value: 255: .*less than or equal to 254.* \(input property: inbound_rules\[0\]\)$/);
      expect(await admin.get(profileRef("ping"))).toBeUndefined();
    });
  });

  describe("NetworkPolicy: write, drift, empty lists, import", () => {
    it("applies server-side with our label and the server's defaults, reads back in sync, deletes (gone = empty id)", async () => {
      const inputs = checked("networkPolicy", { ...np, cluster });
      const before = await server.requestCount();
      const created = await createDocument("networkPolicy", inputs);
      expect(created.id).toBe("default/web");
      expect((await writesSince(before)).map((q) => `${q.verb} ${q.path}`)).toEqual(["patch /apis/networking.k8s.io/v1/namespaces/default/networkpolicies/web"]);
      const live = await admin.get(npRef("web"));
      expect(live?.spec).toEqual({ ...np.spec, policyTypes: ["Ingress"] });
      expect(live?.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "pulumi-netpolicy" });

      const read = await readDocument("networkPolicy", created.id, created.outs);
      expect(read.id).toBe(created.id);
      expect(read.props.drift).toBeUndefined();
      expect((await diffDocument("networkPolicy", read.props, inputs)).changes).toBe(false);

      await deleteDocument("networkPolicy", created.outs);
      expect(await admin.get(npRef("web"))).toBeUndefined();
      expect((await readDocument("networkPolicy", created.id, created.outs)).id).toBe("");
    });

    it("refresh shows a hand edit as drift and the next diff as a change", async () => {
      const inputs = checked("networkPolicy", { ...np, cluster });
      const created = await createDocument("networkPolicy", inputs);
      const stored = structuredClone(await admin.get(npRef("web")));
      (stored?.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0].ports[0].port = 8080;
      await admin.replace(stored, { fieldManager: "kubectl-edit" });
      const read = await readDocument("networkPolicy", created.id, created.outs);
      expect(read.props.drift).toBe("changed in the cluster: spec.ingress[0].ports[0].port: 80 → 8080");
      expect((await diffDocument("networkPolicy", read.props, inputs)).changes).toBe(true);
      await deleteDocument("networkPolicy", created.outs);
    });

    it("another server-side-apply manager's edit is drift; update fails with its 409 until force takes the field back", async () => {
      const inputs = checked("networkPolicy", { ...np, cluster });
      const created = await createDocument("networkPolicy", inputs);
      const spec = { ...structuredClone(np.spec), policyTypes: ["Ingress"] };
      spec.ingress[0].ports[0].port = 8081;
      await admin.apply({ ...NP, metadata: { name: "web", namespace: "default" }, spec }, { fieldManager: "someone-else", force: true });

      const read = await readDocument("networkPolicy", created.id, created.outs);
      expect(read.props.drift).toBe("changed in the cluster: spec.ingress[0].ports[0].port: 80 → 8081");
      expect((await diffDocument("networkPolicy", read.props, inputs)).changes).toBe(true);
      expect(await failure(updateDocument("networkPolicy", inputs))).toMatch(/^NetworkPolicy default\/web: server-side apply failed: .*409 Conflict: Apply failed with \d conflicts?: conflict with "someone-else"/);
      const repaired = await updateDocument("networkPolicy", checked("networkPolicy", { ...np, cluster: { ...cluster, force: true } }));
      expect(repaired.outs.live).toMatchObject({ spec: { ingress: [{ ports: [{ port: 80 }] }] } });
      expect((await admin.get(npRef("web")))?.spec).toEqual({ ...np.spec, policyTypes: ["Ingress"] });
      expect((await readDocument("networkPolicy", created.id, repaired.outs)).props.drift).toBeUndefined();
      await deleteDocument("networkPolicy", repaired.outs);
    });

    it("empty lists and maps (ingress: [], egress: [], from: [], matchLabels: {}): refresh finds no drift, the next diff no change", async () => {
      const empties = { ...NP, metadata: { name: "empties", namespace: "default" }, spec: {
        podSelector: { matchLabels: {} },
        ingress: [{ from: [], ports: [] }, { from: [{ ipBlock: { cidr: "10.0.0.0/8", except: [] } }] }],
        egress: [],
      } };
      const inputs = checked("networkPolicy", { ...empties, cluster });
      const created = await createDocument("networkPolicy", inputs);
      // Stored as the server keeps it; policyTypes as a plain create of the same manifest stores it.
      const plain = await server.request("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies?dryRun=All", { ...empties, metadata: { name: "plain" } });
      expect(plain.status).toBe(201);
      expect((await admin.get(npRef("empties")))?.spec).toEqual(plain.body.spec);
      expect(plain.body.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"], ingress: [{}, { from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] });

      const read = await readDocument("networkPolicy", created.id, created.outs);
      expect(read.props.drift).toBeUndefined();
      expect(await diffDocument("networkPolicy", read.props, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
      await deleteDocument("networkPolicy", read.props);
    });

    it("imports by namespace/name: the live object becomes the document and the inputs", async () => {
      const live = { ...np, metadata: { name: "legacy", namespace: "default", labels: { team: "web" }, annotations: { note: "kept" } } };
      await admin.apply(live, { fieldManager: "kubectl" });

      // What the engine sends on import: the id, and (at best) the cluster from the program's inputs.
      const imported = await readDocument("networkPolicy", "default/legacy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", cluster });
      expect(imported.id).toBe("default/legacy");
      const doc = { ...NP, metadata: { name: "legacy", namespace: "default", labels: { team: "web" }, annotations: { note: "kept" } }, spec: np.spec };
      // The server defaulted policyTypes: the live object has it, so the imported document does.
      const importedDoc = { ...doc, spec: { ...np.spec, policyTypes: ["Ingress"] } };
      expect(imported.inputs).toEqual({ ...importedDoc, cluster });
      expect(imported.props).toMatchObject({ ...importedDoc, document: importedDoc, live: { metadata: { name: "legacy" } } });

      // The program that declares the same policy as its manifest (no policyTypes) sees no change after the import.
      expect((await diffDocument("networkPolicy", imported.props, checked("networkPolicy", { ...doc, cluster }))).changes).toBe(false);
      // Refresh says the object is not marked as ours yet (as `netpol status` does); the next up labels it, then all is in sync.
      const refreshed = await readDocument("networkPolicy", imported.id, imported.props);
      expect(refreshed.props.drift).toBe("an object of this name is not managed by pulumi-netpolicy (no label app.kubernetes.io/managed-by=pulumi-netpolicy)");
      const labelled = await updateDocument("networkPolicy", checked("networkPolicy", { ...doc, cluster }));
      expect((labelled.outs.live as { metadata: { labels: Record<string, string> } }).metadata.labels).toEqual({ team: "web", "app.kubernetes.io/managed-by": "pulumi-netpolicy" });
      expect((await readDocument("networkPolicy", imported.id, labelled.outs)).props.drift).toBeUndefined();
      // A name alone means namespace "default".
      expect((await readDocument("networkPolicy", "legacy", { cluster })).id).toBe("default/legacy");
      await deleteDocument("networkPolicy", labelled.outs);
    });

    it("an import of what kubectl apply wrote keeps the user's annotations, not kubectl's", async () => {
      const manifest = { ...np, metadata: { name: "by-kubectl", namespace: "default", annotations: { note: "kept" } } };
      // What `kubectl apply` (client-side) sends: a create that carries the manifest in an annotation.
      const last = JSON.stringify(manifest);
      const created = await server.request("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies?fieldManager=kubectl-client-side-apply",
        { ...manifest, metadata: { ...manifest.metadata, annotations: { ...manifest.metadata.annotations, "kubectl.kubernetes.io/last-applied-configuration": last } } });
      expect(created.status).toBe(201);
      const imported = await readDocument("networkPolicy", "default/by-kubectl", { cluster });
      expect((imported.inputs?.metadata as { annotations: unknown }).annotations).toEqual({ note: "kept" });
      expect(await server.request("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/by-kubectl")).toMatchObject({ status: 200 });
    });

    it.each([
      ["default/absent", /NetworkPolicy default\/absent: import failed: no such NetworkPolicy in the cluster/],
      ["a/b/c", /NetworkPolicy import: id "a\/b\/c" is not "namespace\/name"/],
      ["default/Not_A_Name", /import failed: .*not a valid Kubernetes name/],
    ])("import of %s fails clearly", async (id, message) => {
      await expect(readDocument("networkPolicy", id, { cluster })).rejects.toThrow(message);
    });

    it("Profile and Policy import say it is not supported", async () => {
      await expect(readDocument("profile", "web", { cluster })).rejects.toThrow(/Profile import is not supported/);
    });
  });

  describe("credentials, RBAC and TLS: clear errors without the token", () => {
    it("an unknown token (401): create fails, naming the user and context", async () => {
      const token = "not-a-known-token";
      const inputs = checked("policy", { ...allowDb, cluster: { kubeconfigContent: server.kubeconfig({ token }) } });
      const error = await createDocument("policy", inputs).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/^Policy allow-db: server-side apply failed: .*401 Unauthorized: .*did not accept the credentials of user "test-user" \(context "test"\)/);
      expect((error as Error).message + ((error as Error).stack ?? "")).not.toContain(token);
    });

    it("a user who may only read (403): create fails naming the verb; refresh works; delete fails and leaves the object", async () => {
      const reader = { kubeconfigContent: server.kubeconfig({ user: "reader" }) };
      expect(await failure(createDocument("policy", checked("policy", { ...allowDb, cluster: reader })))).toMatch(
        /^Policy allow-db: server-side apply failed: .*403 Forbidden: .*User "reader" cannot patch resource "globalnetworkpolicies" in API group "projectcalico.org" at the cluster scope.*lacks the RBAC permission/);
      expect(await admin.get({ apiVersion: "projectcalico.org/v3", kind: "GlobalNetworkPolicy", name: "allow-db" })).toBeUndefined();

      const created = await createDocument("networkPolicy", checked("networkPolicy", { ...np, cluster }));
      const asReader = { ...created.outs, cluster: reader };
      expect((await readDocument("networkPolicy", created.id, asReader)).props.drift).toBeUndefined();
      expect(await failure(deleteDocument("networkPolicy", asReader))).toMatch(/^NetworkPolicy default\/web: delete failed: .*403 Forbidden: .*User "reader" cannot delete resource "networkpolicies"/);
      expect(await admin.get(npRef("web"))).toBeDefined();
      await deleteDocument("networkPolicy", created.outs);
    });

    it("a user with no bindings (403): even the read before the write is refused", async () => {
      const nobody = { kubeconfigContent: server.kubeconfig({ user: "nobody" }) };
      expect(await failure(createDocument("networkPolicy", checked("networkPolicy", { ...np, cluster: nobody })))).toMatch(
        /^NetworkPolicy default\/web: server-side apply failed: .*403 Forbidden: .*User "nobody" cannot get resource "networkpolicies" in API group "networking.k8s.io" in the namespace "default"/);
    });

    it("a kubeconfig with another CA: create and refresh say that CA did not sign the server's certificate", async () => {
      const other = await createTestPki();
      try {
        const config = JSON.parse(server.kubeconfig());
        config.clusters[0].cluster["certificate-authority-data"] = Buffer.from(other.caPem).toString("base64");
        const wrongCa = { kubeconfigContent: JSON.stringify(config) };
        const inputs = checked("networkPolicy", { ...np, cluster: wrongCa });
        expect(await failure(createDocument("networkPolicy", inputs))).toMatch(/^NetworkPolicy default\/web: server-side apply failed: .*is not the CA that signed the server's certificate/);
        expect(await failure(readDocument("networkPolicy", "default/web", { ...inputs, document: np }))).toMatch(/^NetworkPolicy default\/web: reading the object back failed: .*is not the CA that signed/);
        expect(await admin.get(npRef("web"))).toBeUndefined();
      } finally {
        await removeTestPki(other);
      }
    });
  });

  describe("a server that does not serve projectcalico.org/v3 (no Calico API server)", () => {
    const NOT_SERVED = /does not serve projectcalico\.org\/v3 .*Calico API server/;

    it.each([["profile", web, "Profile WEB"], ["policy", allowDb, "Policy allow-db"]] as const)("%s: create fails naming the group/version, not a create", async (kind, doc, label) => {
      const message = await failure(createDocument(kind, checked(kind, { ...doc, cluster: { kubeconfigContent: bare.kubeconfig() } })));
      expect(message).toContain(`${label}: server-side apply failed: `);
      expect(message).toMatch(NOT_SERVED);
    });

    it("refresh of a Profile written before fails (the resource stays in state), and so does delete: not 'gone'", async () => {
      const created = await createDocument("profile", checked("profile", { ...web, cluster }));
      // The same outputs, the cluster now without the Calico API (as after calico-apiserver was removed).
      const unserved = { ...created.outs, cluster: { kubeconfigContent: bare.kubeconfig() } };
      const refresh = await failure(readDocument("profile", created.id, unserved));
      expect(refresh).toMatch(/^Profile WEB: reading the object back failed: projectcalico\.org\/v3 Profile web: /);
      expect(refresh).toMatch(NOT_SERVED);
      expect(await failure(deleteDocument("profile", unserved))).toMatch(NOT_SERVED);
      await deleteDocument("profile", created.outs);
    });

    it("a NetworkPolicy on that server is unaffected", async () => {
      const created = await createDocument("networkPolicy", checked("networkPolicy", { ...np, cluster: { kubeconfigContent: bare.kubeconfig() } }));
      expect((await readDocument("networkPolicy", created.id, created.outs)).props.drift).toBeUndefined();
      await deleteDocument("networkPolicy", created.outs);
      expect(await bareAdmin.get(npRef("web"))).toBeUndefined();
    });
  });

  describe("which cluster: the server the kubeconfig resolves to (two real API servers)", () => {
    let rotated: string;
    let dir: string;
    let file: string;
    beforeAll(async () => {
      // A second credential for the first server: a ServiceAccount token, as `kubectl create token` gives.
      rotated = await serviceAccountToken(server, "default", "rotated");
      await bindClusterRole(server, "cluster-admin", { kind: "ServiceAccount", name: "rotated", namespace: "default" });
      await bindClusterRole(server, "cluster-admin", { kind: "Group", name: "netpol-testers" });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-which-cluster-"));
      file = path.join(dir, "kubeconfig.yaml");
      fs.writeFileSync(file, kubeconfigFile([["first", server, TOKEN], ["first-admin", server, rotated], ["second", bare, TOKEN]]));
    });
    afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

    /** One kubeconfig with a context (and cluster and user of the same name) per entry. */
    function kubeconfigFile(entries: [string, RealKubeApiServer, string][]): string {
      return stringify({
        apiVersion: "v1", kind: "Config", "current-context": entries[0][0],
        clusters: entries.map(([name, s]) => ({ name, cluster: { server: s.url, "certificate-authority-data": Buffer.from(s.pki.caPem).toString("base64") } })),
        users: entries.map(([name, , token]) => ({ name, user: { token } })),
        contexts: entries.map(([name]) => ({ name, context: { cluster: name, user: name } })),
      });
    }
    /** The same kubeconfig in another spelling: YAML instead of JSON, a trailing slash on the server. */
    function reformatted(text: string): string {
      const doc = parseYaml(text) as { clusters: { cluster: { server: string } }[] };
      doc.clusters[0].cluster.server += "/";
      return `# rotated by hand\n${stringify(doc, { indent: 4 })}`;
    }
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    const policyNamed = (name: string) => ({ ...np, metadata: { name, namespace: "default" } });
    /** Nothing of a kubeconfig (tokens, CA, server URLs) may show in what leaves diff, or in outputs beside `cluster`. */
    const noSecretIn = (v: unknown) => {
      const { cluster: _c, ...rest } = v as Record<string, unknown>;
      const text = JSON.stringify(rest);
      for (const secret of [TOKEN, rotated, server.url, bare.url, "127.0.0.1", "BEGIN CERTIFICATE", Buffer.from(server.pki.caPem).toString("base64").slice(0, 40)]) expect(text).not.toContain(secret);
    };
    const first = () => ({ kubeconfigContent: server.kubeconfig() });

    type Case = [string, () => unknown, string[]];
    const inlineCases: Case[] = [
      ["a rotated token for the same server: update", () => ({ kubeconfigContent: server.kubeconfig({ token: rotated }) }), []],
      ["a client certificate instead of the token: update", () => ({ kubeconfigContent: clientCertificateKubeconfig(server) }), []],
      ["the CA as a file instead of data: update", () => ({ kubeconfigContent: server.kubeconfig({ ca: "file" }) }), []],
      ["the same server in a differently formatted text: update", () => ({ kubeconfigContent: reformatted(server.kubeconfig()) }), []],
      ["the same server in a kubeconfig file: update", () => ({ kubeconfig: file, context: "first" }), []],
      ["text that does not parse: no crash, as before (create reports it)", () => ({ kubeconfigContent: "clusters: [\n  {server: " }), []],
      ["text not known yet (preview): as before", () => ({ kubeconfigContent: UNKNOWN }), []],
      ["a target not known yet (preview): as before", () => UNKNOWN, []],
      ["another server: replace", () => ({ kubeconfigContent: bare.kubeconfig() }), ["cluster"]],
      ["a kubeconfig file on another server: replace", () => ({ kubeconfig: file, context: "second" }), ["cluster"]],
    ];
    it.each(inlineCases)("written with inline text; then %s", async (_what, target, replaces) => {
      const name = "inline-" + replaces.length;
      const created = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed(name), cluster: first() }));
      expect(created.outs).not.toHaveProperty("clusterServerSha256"); // the old text itself is in the (secret) outputs
      noSecretIn(created.outs);
      const diff = await diffDocument("networkPolicy", created.outs, { ...policyNamed(name), cluster: target() });
      expect(diff).toEqual({ changes: true, replaces, deleteBeforeReplace: false });
      noSecretIn(diff);
      await deleteDocument("networkPolicy", created.outs);
    });

    it("the other credentials really work on the first server: an update with each is written", async () => {
      const created = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("credentials"), cluster: first() }));
      for (const [port, target] of [[81, server.kubeconfig({ token: rotated })], [82, clientCertificateKubeconfig(server)]] as const) {
        const spec = { ...np.spec, ingress: [{ ports: [{ port, protocol: "TCP" }] }] };
        await updateDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("credentials"), spec, cluster: { kubeconfigContent: target } }));
        expect((await admin.get(npRef("credentials")))?.spec).toMatchObject({ ingress: [{ ports: [{ port }] }] });
      }
      await deleteDocument("networkPolicy", created.outs);
    });

    const fileCases: Case[] = [
      ["another context on the same server (another user): update", () => ({ kubeconfig: file, context: "first-admin" }), []],
      ["inline text for the same server: update", () => ({ kubeconfigContent: server.kubeconfig({ token: rotated }) }), []],
      ["a context that does not exist: as before (replace: the context differs)", () => ({ kubeconfig: file, context: "third" }), ["cluster"]],
      ["another context that resolves to another server: replace", () => ({ kubeconfig: file, context: "second" }), ["cluster"]],
    ];
    it.each(fileCases)("written with a kubeconfig file; then %s", async (_what, target, replaces) => {
      const name = "file-" + replaces.length;
      const created = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed(name), cluster: { kubeconfig: file, context: "first" } }));
      expect(created.outs.clusterServerSha256).toBe(sha256(server.url));
      noSecretIn(created.outs);
      const diff = await diffDocument("networkPolicy", created.outs, { ...policyNamed(name), cluster: target() });
      expect(diff).toEqual({ changes: true, replaces, deleteBeforeReplace: false });
      noSecretIn(diff);
      await deleteDocument("networkPolicy", created.outs);
    });

    it("text that does not parse: diff keeps the old comparison, create reports the real error without the text", async () => {
      const broken = 'clusters: [\n  {server: "https://10.9.8.7:6443", token: tok-in-broken-text';
      const olds = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("broken"), cluster: first() }));
      const news = checked("networkPolicy", { ...policyNamed("broken"), cluster: { kubeconfigContent: broken } });
      const diff = await diffDocument("networkPolicy", olds.outs, news);
      expect(diff.replaces).toEqual([]);
      expect(JSON.stringify(diff)).not.toMatch(/10\.9\.8\.7|tok-in-broken-text/);
      const message = await failure(createDocument("networkPolicy", news));
      expect(message).toMatch(/^NetworkPolicy default\/broken: server-side apply failed: .*inline kubeconfig.*is not valid YAML/);
      expect(message).not.toMatch(/10\.9\.8\.7|tok-in-broken-text/);
      await deleteDocument("networkPolicy", olds.outs);
    });

    it("replace onto another server: created there with the new inputs, deleted from the old one with the old outputs", async () => {
      const olds = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("moved"), cluster: first() }));
      const news = checked("networkPolicy", { ...policyNamed("moved"), cluster: { kubeconfigContent: bare.kubeconfig() } });
      expect((await diffDocument("networkPolicy", olds.outs, news)).replaces).toEqual(["cluster"]);
      // The engine's order for a replacement: create the new, then delete the old with its outputs.
      const created = await createDocument("networkPolicy", news);
      await deleteDocument("networkPolicy", olds.outs);
      expect(await admin.get(npRef("moved"))).toBeUndefined();
      expect(await bareAdmin.get(npRef("moved"))).toBeDefined();
      expect(await diffDocument("networkPolicy", created.outs, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
      await deleteDocument("networkPolicy", created.outs);
    });

    it("a kubeconfig file rewritten to another server: replace; the old object is not looked for or deleted on the new server", async () => {
      const own = path.join(dir, "rewritten.yaml");
      fs.writeFileSync(own, server.kubeconfig());
      const inputs = checked("networkPolicy", { ...policyNamed("rewritten"), cluster: { kubeconfig: own } });
      const olds = await createDocument("networkPolicy", inputs);
      fs.writeFileSync(own, bare.kubeconfig());

      // Same inputs, another server behind them.
      expect(await diffDocument("networkPolicy", olds.outs, inputs)).toEqual({ changes: true, replaces: ["cluster"], deleteBeforeReplace: false });
      const created = await createDocument("networkPolicy", inputs);
      expect(created.outs.clusterServerSha256).toBe(sha256(bare.url));
      const refused = /^NetworkPolicy default\/rewritten: (delete|reading the object back) failed: the kubeconfig of `cluster` \(its file and context\) now resolves to another API server than the one the object was written to, so nothing was done there/;
      const deleteError = await failure(deleteDocument("networkPolicy", olds.outs));
      expect(deleteError).toMatch(refused);
      await expect(readDocument("networkPolicy", "default/rewritten", olds.outs)).rejects.toThrow(refused);
      noSecretIn({ message: deleteError });
      expect(await bareAdmin.get(npRef("rewritten"))).toBeDefined(); // the new object survives
      expect(await admin.get(npRef("rewritten"))).toBeDefined(); // the old one waits for the file to point back

      fs.writeFileSync(own, server.kubeconfig({ token: rotated }));
      await deleteDocument("networkPolicy", olds.outs);
      expect(await admin.get(npRef("rewritten"))).toBeUndefined();
      fs.writeFileSync(own, bare.kubeconfig());
      await deleteDocument("networkPolicy", created.outs);
      expect(await bareAdmin.get(npRef("rewritten"))).toBeUndefined();
    });

    it("Profile and Policy (Calico objects) follow the same rule", async () => {
      const sameServer = { kubeconfigContent: server.kubeconfig({ token: rotated }) };
      const moved = { kubeconfigContent: bare.kubeconfig() };
      for (const [kind, doc] of [["profile", web], ["policy", allowDb]] as const) {
        const created = await createDocument(kind, checked(kind, { ...doc, cluster: first() }));
        noSecretIn(created.outs);
        expect((await diffDocument(kind, created.outs, checked(kind, { ...doc, cluster: sameServer }))).replaces).toEqual([]);
        expect((await diffDocument(kind, created.outs, checked(kind, { ...doc, cluster: moved }))).replaces).toEqual(["cluster"]);
        await deleteDocument(kind, created.outs);
      }
    });
  });

  // Last: it stops the first server.
  describe("an API server that goes away", () => {
    it("after kube-apiserver stops, create, refresh and delete fail: cannot reach it", async () => {
      const inputs = checked("networkPolicy", { ...np, cluster });
      const created = await createDocument("networkPolicy", inputs);
      await server.stopApiServer();
      const unreachable = /cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED, context "test"\)/;
      for (const [step, call] of [
        ["server-side apply", () => updateDocument("networkPolicy", inputs)],
        ["reading the object back", () => readDocument("networkPolicy", created.id, created.outs)],
        ["delete", () => deleteDocument("networkPolicy", created.outs)],
      ] as const) {
        const message = await failure(call());
        expect(message).toContain(`NetworkPolicy default/web: ${step} failed: `);
        expect(message).toMatch(unreachable);
      }
    });
  });
});

describe("a bad cluster target (no server)", () => {
  it("is a check failure with its property path", () => {
    expect(checkDocument("profile", { ...web, cluster: { context: "" } }).failures).toEqual([{ property: "cluster.context", reason: "must not be empty" }]);
    expect(checkDocument("policy", { ...allowDb, cluster: { kubeconfig: "x", bogus: 1 } }).failures).toEqual([{ property: "cluster.bogus", reason: "unknown field; remove it or fix its name" }]);
  });
});

/**
 * Gives the Profile CRD (standing in for the Calico API server) one rule of Calico's validation,
 * an ICMP type of at most 254, and waits until the server enforces it.
 */
async function refuseIcmpTypesAbove254(on: RealKubeApiServer): Promise<void> {
  const at = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/profiles.projectcalico.org";
  const crd = (await on.request("GET", at)).body;
  const rule = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties = {
    ingress: { type: "array", items: { ...rule, properties: { icmp: { ...rule, properties: { type: { type: "integer", minimum: 0, maximum: 254 } } } } } },
  };
  expect((await on.request("PUT", at, crd)).status).toBe(200);
  const probe = { apiVersion: "projectcalico.org/v3", kind: "Profile", metadata: { name: "probe" }, spec: { ingress: [{ icmp: { type: 255 } }] } };
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await on.request("POST", "/apis/projectcalico.org/v3/profiles?dryRun=All", probe)).status === 422) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the Profile CRD's ICMP rule was not enforced within 10 s");
}
