/**
 * Profile, Policy and NetworkPolicy with a cluster target, against TEST SERVERS: the local HTTPS
 * stand-in for the Kubernetes API (test/support/kube-apiserver.ts), not a real cluster. Covers the
 * Calico v3 writes, refresh and drift, 404 / 409 / 422 / 401 / 403, replace on identity change,
 * NetworkPolicy import by `namespace/name`, which cluster a kubeconfig names (the server it
 * resolves to: two test servers), and that the kubeconfig's token never reaches outputs or errors.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { parse as parseYaml, stringify } from "yaml";
import { UNKNOWN } from "../../provider/resources/inputs";
import { checkDocument, createDocument, deleteDocument, diffDocument, DocumentKind, readDocument, updateDocument } from "../../provider/resources/document-operations";
import { SERVED_TYPES, ServedType } from "../support/kube-apiserver-store";
import { KubeApiServer, startKubeApiServer } from "../support/kube-apiserver";

const TOKEN = "tok-3c1f9a-very-secret";
const FORBIDDEN = "tok-forbidden-77d2";

const web = { profileId: "WEB", inbound_rules: [{ action: "allow", src_tag: "WEB" }, { action: "allow", protocol: "tcp", dst_ports: [80, "8000:8080"] }], outbound_rules: [{ action: "allow" }] };
const allowDb = { name: "allow-db", order: 10, selector: "role == 'db'", inbound_rules: [{ action: "allow", protocol: "tcp", src_selector: "role == 'app'", dst_ports: [5432] }] };
const np = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "web", namespace: "default" }, spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }] } };

function type(kind: string): ServedType {
  const found = SERVED_TYPES.find((t) => t.kind === kind && (kind !== "NetworkPolicy" || t.group === "projectcalico.org"));
  if (!found) throw new Error(kind);
  return found;
}
const NP_TYPE = SERVED_TYPES[0];

/** What check hands create: the inputs plus the computed keys. */
function checked(kind: DocumentKind, news: Record<string, unknown>): Record<string, unknown> {
  const r = checkDocument(kind, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}

describe("Profile and Policy written to a cluster as Calico v3 (test API server)", () => {
  let server: KubeApiServer;
  let cluster: Record<string, unknown>;
  beforeAll(async () => {
    server = await startKubeApiServer({ tokens: { [TOKEN]: { user: "alice" }, [FORBIDDEN]: { user: "mallory", forbidden: true } } });
    cluster = { kubeconfigContent: server.kubeconfig({ token: TOKEN }) };
  });
  afterAll(async () => { await server.close(); });

  const noSecret = (v: unknown) => {
    const { cluster: _c, ...rest } = v as Record<string, unknown>;
    expect(JSON.stringify(rest)).not.toContain(TOKEN);
  };

  it("Profile: check shows the v3 object; create applies it; refresh in sync; hand edit = drift; update repairs with force; delete", async () => {
    const inputs = checked("profile", { ...web, cluster });
    expect(inputs.calicoObject).toMatchObject({ apiVersion: "projectcalico.org/v3", kind: "Profile", metadata: { name: "web" }, spec: { labelsToApply: { WEB: "" } } });

    const created = await createDocument("profile", inputs);
    expect(created.id).toBe("web");
    expect(created.outs.live).toMatchObject({ kind: "Profile", spec: { ingress: [{ action: "Allow", source: { selector: "has(WEB)" } }, { action: "Allow", protocol: "TCP", destination: { ports: [80, "8000:8080"] } }] } });
    const patch = server.requests.filter((r) => r.method === "PATCH").pop();
    expect(patch).toMatchObject({ path: "/apis/projectcalico.org/v3/profiles/web", query: { fieldManager: "pulumi-netpolicy", force: "false" }, contentType: "application/apply-patch+yaml" });
    noSecret(created.outs);

    const fresh = await readDocument("profile", created.id, created.outs);
    expect(fresh.props.drift).toBeUndefined();
    expect(await diffDocument("profile", fresh.props, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

    // Someone edits the profile by hand (a PUT by another field manager, as `kubectl edit` does).
    const stored = structuredClone(server.store.get(type("Profile"), undefined, "web").body);
    const spec = stored.spec as { ingress: { destination?: { ports: unknown[] } }[] };
    spec.ingress[1].destination = { ports: [81] };
    expect(server.store.update(type("Profile"), undefined, "web", stored, "kubectl-edit").status).toBe(200);

    const drifted = await readDocument("profile", created.id, fresh.props);
    expect(drifted.id).toBe("web");
    expect(drifted.props.drift).toBe('changed in the cluster: spec.ingress[1].destination.ports: [80,"8000:8080"] → [81]');
    expect(drifted.props.live).toMatchObject({ spec: { ingress: [{}, { destination: { ports: [81] } }] } });
    expect((await diffDocument("profile", drifted.props, inputs)).changes).toBe(true);

    // The hand edit owns the field now: without force the repair is a 409 naming the owner and the input.
    await expect(updateDocument("profile", inputs)).rejects.toThrow(
      /^Profile WEB: server-side apply failed: projectcalico\.org\/v3 Profile web: 409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-edit".*\.spec\.ingress.*apply with force: true.*\(input property: spec\.ingress\)$/s);
    const forced = checked("profile", { ...web, cluster: { ...cluster, force: true } });
    const repaired = await updateDocument("profile", forced);
    expect(repaired.outs.live).toMatchObject({ spec: { ingress: [{}, { destination: { ports: [80, "8000:8080"] } }] } });
    expect((await readDocument("profile", "web", repaired.outs)).props.drift).toBeUndefined();

    await deleteDocument("profile", repaired.outs);
    expect(server.store.get(type("Profile"), undefined, "web").status).toBe(404);
    await expect(deleteDocument("profile", repaired.outs)).resolves.toBeUndefined(); // 404 = already gone
    expect(await readDocument("profile", "web", repaired.outs)).toEqual({ id: "", props: {} });
  });

  it("Policy: written as a GlobalNetworkPolicy with order, selector and types; refresh reads it back", async () => {
    const inputs = checked("policy", { ...allowDb, cluster });
    const created = await createDocument("policy", inputs);
    expect(created.id).toBe("allow-db");
    expect(server.requests.filter((r) => r.method === "PATCH").pop()?.path).toBe("/apis/projectcalico.org/v3/globalnetworkpolicies/allow-db");
    expect(server.store.get(type("GlobalNetworkPolicy"), undefined, "allow-db").body).toMatchObject({
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

  it("a value Calico refuses (422) names the resource, the API's cause and the input property", async () => {
    const bad = checked("profile", { profileId: "PING", inbound_rules: [{ action: "allow", protocol: "icmp", icmp_type: 255 }], cluster });
    await expect(createDocument("profile", bad)).rejects.toThrow(
      /^Profile PING: server-side apply failed: projectcalico\.org\/v3 Profile ping: 422 Invalid: Profile\.projectcalico\.org "ping" is invalid: spec\.ingress\[0\]\.icmp\.type: Invalid value: 255: ICMP type must be in the range 0-254 \(input property: inbound_rules\[0\]\)$/);
  });

  it.each([
    ["an unknown token (401)", "not-a-known-token", /Policy allow-db: server-side apply failed: .* 401 Unauthorized: .*did not accept the credentials/],
    ["a token without RBAC (403)", FORBIDDEN, /Policy allow-db: server-side apply failed: .* 403 Forbidden: .*cannot get resource "globalnetworkpolicies".*lacks the RBAC permission/],
  ])("%s: a clear error without the token", async (_what, token, message) => {
    const inputs = checked("policy", { ...allowDb, cluster: { kubeconfigContent: server.kubeconfig({ token }) } });
    const error = await createDocument("policy", inputs).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(token);
    expect((error as Error).stack ?? "").not.toContain(token);
  });

  it("a bad cluster target is a check failure with its property path", () => {
    expect(checkDocument("profile", { ...web, cluster: { context: "" } }).failures).toEqual([{ property: "cluster.context", reason: "must not be empty" }]);
    expect(checkDocument("policy", { ...allowDb, cluster: { kubeconfig: "x", bogus: 1 } }).failures).toEqual([{ property: "cluster.bogus", reason: "unknown field; remove it or fix its name" }]);
  });
});

describe("NetworkPolicy: drift and import (test API server)", () => {
  let server: KubeApiServer;
  let cluster: Record<string, unknown>;
  beforeAll(async () => {
    server = await startKubeApiServer({ tokens: { [TOKEN]: { user: "alice" } } });
    cluster = { kubeconfigContent: server.kubeconfig({ token: TOKEN }) };
  });
  afterAll(async () => { await server.close(); });

  it("refresh shows a hand edit as drift and the next diff as a change", async () => {
    const inputs = checked("networkPolicy", { ...np, cluster });
    const created = await createDocument("networkPolicy", inputs);
    const stored = structuredClone(server.store.get(NP_TYPE, "default", "web").body);
    (stored.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0].ports[0].port = 8080;
    server.store.update(NP_TYPE, "default", "web", stored, "kubectl-edit");
    const read = await readDocument("networkPolicy", created.id, created.outs);
    expect(read.props.drift).toBe("changed in the cluster: spec.ingress[0].ports[0].port: 80 → 8080");
    expect((await diffDocument("networkPolicy", read.props, inputs)).changes).toBe(true);
    await deleteDocument("networkPolicy", created.outs);
  });

  it("imports by namespace/name: the live object becomes the document and the inputs", async () => {
    const live = { ...np, metadata: { name: "legacy", namespace: "default", labels: { team: "web" }, annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", note: "kept" } } };
    expect(server.store.apply(NP_TYPE, "default", "legacy", live, "kubectl", false).status).toBe(201);

    // What the engine sends on import: the id, and (at best) the cluster from the program's inputs.
    const imported = await readDocument("networkPolicy", "default/legacy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", cluster });
    expect(imported.id).toBe("default/legacy");
    const doc = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "legacy", namespace: "default", labels: { team: "web" }, annotations: { note: "kept" } }, spec: np.spec };
    expect(imported.inputs).toEqual({ ...doc, cluster });
    expect(imported.props).toMatchObject({ ...doc, document: doc, live: { metadata: { name: "legacy" } } });

    // The program that declares the same policy sees no change in its inputs after the import.
    expect((await diffDocument("networkPolicy", imported.props, checked("networkPolicy", { ...doc, cluster }))).changes).toBe(false);
    // Refresh says the object is not marked as ours yet (as `netpol status` does); the next up labels it, then all is in sync.
    const refreshed = await readDocument("networkPolicy", imported.id, imported.props);
    expect(refreshed.props.drift).toBe("an object of this name is not managed by pulumi-netpolicy (no label app.kubernetes.io/managed-by=pulumi-netpolicy)");
    const labelled = await updateDocument("networkPolicy", checked("networkPolicy", { ...doc, cluster }));
    expect((labelled.outs.live as { metadata: { labels: Record<string, string> } }).metadata.labels).toEqual({ team: "web", "app.kubernetes.io/managed-by": "pulumi-netpolicy" });
    expect((await readDocument("networkPolicy", imported.id, labelled.outs)).props.drift).toBeUndefined();
    // A name alone means namespace "default".
    expect((await readDocument("networkPolicy", "legacy", { cluster })).id).toBe("default/legacy");
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

describe("which cluster: the server the kubeconfig resolves to (two test API servers)", () => {
  const ROTATED = "tok-rotated-8a41e0";
  let first: KubeApiServer;
  let second: KubeApiServer;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    const tokens = { [TOKEN]: { user: "alice" }, [ROTATED]: { user: "alice" } };
    [first, second] = await Promise.all([startKubeApiServer({ tokens }), startKubeApiServer({ tokens })]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-which-cluster-"));
    file = path.join(dir, "kubeconfig.yaml");
    fs.writeFileSync(file, kubeconfigFile([["first", first, TOKEN], ["first-admin", first, ROTATED], ["second", second, TOKEN]]));
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One kubeconfig with a context (and cluster and user of the same name) per entry. */
  function kubeconfigFile(entries: [string, KubeApiServer, string][]): string {
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
    for (const secret of [TOKEN, ROTATED, first.url, second.url, "127.0.0.1", "BEGIN CERTIFICATE", Buffer.from(first.pki.caPem).toString("base64").slice(0, 40)]) expect(text).not.toContain(secret);
  };

  type Case = [string, () => unknown, string[]];
  const inlineCases: Case[] = [
    ["a rotated token for the same server: update", () => ({ kubeconfigContent: first.kubeconfig({ token: ROTATED }) }), []],
    ["a client certificate instead of the token: update", () => ({ kubeconfigContent: first.kubeconfig({ token: null, clientCert: "data" }) }), []],
    ["the CA as a file instead of data: update", () => ({ kubeconfigContent: first.kubeconfig({ token: TOKEN, ca: "file" }) }), []],
    ["the same server in a differently formatted text: update", () => ({ kubeconfigContent: reformatted(first.kubeconfig({ token: TOKEN })) }), []],
    ["the same server in a kubeconfig file: update", () => ({ kubeconfig: file, context: "first" }), []],
    ["text that does not parse: no crash, as before (create reports it)", () => ({ kubeconfigContent: "clusters: [\n  {server: " }), []],
    ["text not known yet (preview): as before", () => ({ kubeconfigContent: UNKNOWN }), []],
    ["a target not known yet (preview): as before", () => UNKNOWN, []],
    ["another server: replace", () => ({ kubeconfigContent: second.kubeconfig({ token: TOKEN }) }), ["cluster"]],
    ["a kubeconfig file on another server: replace", () => ({ kubeconfig: file, context: "second" }), ["cluster"]],
  ];
  it.each(inlineCases)("written with inline text; then %s", async (_what, cluster, replaces) => {
    const name = "inline-" + replaces.length;
    const created = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed(name), cluster: { kubeconfigContent: first.kubeconfig({ token: TOKEN }) } }));
    expect(created.outs).not.toHaveProperty("clusterServerSha256"); // the old text itself is in the (secret) outputs
    noSecretIn(created.outs);
    const diff = await diffDocument("networkPolicy", created.outs, { ...policyNamed(name), cluster: cluster() });
    expect(diff).toEqual({ changes: true, replaces, deleteBeforeReplace: false });
    noSecretIn(diff);
    await deleteDocument("networkPolicy", created.outs);
  });

  const fileCases: Case[] = [
    ["another context on the same server (another user): update", () => ({ kubeconfig: file, context: "first-admin" }), []],
    ["inline text for the same server: update", () => ({ kubeconfigContent: first.kubeconfig({ token: ROTATED }) }), []],
    ["a context that does not exist: as before (replace: the context differs)", () => ({ kubeconfig: file, context: "third" }), ["cluster"]],
    ["another context that resolves to another server: replace", () => ({ kubeconfig: file, context: "second" }), ["cluster"]],
  ];
  it.each(fileCases)("written with a kubeconfig file; then %s", async (_what, cluster, replaces) => {
    const name = "file-" + replaces.length;
    const created = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed(name), cluster: { kubeconfig: file, context: "first" } }));
    expect(created.outs.clusterServerSha256).toBe(sha256(first.url));
    noSecretIn(created.outs);
    const diff = await diffDocument("networkPolicy", created.outs, { ...policyNamed(name), cluster: cluster() });
    expect(diff).toEqual({ changes: true, replaces, deleteBeforeReplace: false });
    noSecretIn(diff);
    await deleteDocument("networkPolicy", created.outs);
  });

  it("text that does not parse: diff keeps the old comparison, create reports the real error without the text", async () => {
    const broken = 'clusters: [\n  {server: "https://10.9.8.7:6443", token: tok-in-broken-text';
    const olds = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("broken"), cluster: { kubeconfigContent: first.kubeconfig({ token: TOKEN }) } }));
    const news = checked("networkPolicy", { ...policyNamed("broken"), cluster: { kubeconfigContent: broken } });
    const diff = await diffDocument("networkPolicy", olds.outs, news);
    expect(diff.replaces).toEqual([]);
    expect(JSON.stringify(diff)).not.toMatch(/10\.9\.8\.7|tok-in-broken-text/);
    const error = await createDocument("networkPolicy", news).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^NetworkPolicy default\/broken: server-side apply failed: .*inline kubeconfig.*is not valid YAML/);
    expect((error as Error).message).not.toMatch(/10\.9\.8\.7|tok-in-broken-text/);
    await deleteDocument("networkPolicy", olds.outs);
  });

  it("replace onto another server: created there with the new inputs, deleted from the old one with the old outputs", async () => {
    const olds = await createDocument("networkPolicy", checked("networkPolicy", { ...policyNamed("moved"), cluster: { kubeconfigContent: first.kubeconfig({ token: TOKEN }) } }));
    const news = checked("networkPolicy", { ...policyNamed("moved"), cluster: { kubeconfigContent: second.kubeconfig({ token: TOKEN }) } });
    expect((await diffDocument("networkPolicy", olds.outs, news)).replaces).toEqual(["cluster"]);
    // The engine's order for a replacement: create the new, then delete the old with its outputs.
    const created = await createDocument("networkPolicy", news);
    await deleteDocument("networkPolicy", olds.outs);
    expect(first.store.get(NP_TYPE, "default", "moved").status).toBe(404);
    expect(second.store.get(NP_TYPE, "default", "moved").status).toBe(200);
    expect(await diffDocument("networkPolicy", created.outs, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    await deleteDocument("networkPolicy", created.outs);
  });

  it("a kubeconfig file rewritten to another server: replace; the old object is not looked for or deleted on the new server", async () => {
    const own = path.join(dir, "rewritten.yaml");
    fs.writeFileSync(own, first.kubeconfig({ token: TOKEN }));
    const inputs = checked("networkPolicy", { ...policyNamed("rewritten"), cluster: { kubeconfig: own } });
    const olds = await createDocument("networkPolicy", inputs);
    fs.writeFileSync(own, second.kubeconfig({ token: TOKEN }));

    // Same inputs, another server behind them.
    expect(await diffDocument("networkPolicy", olds.outs, inputs)).toEqual({ changes: true, replaces: ["cluster"], deleteBeforeReplace: false });
    const created = await createDocument("networkPolicy", inputs);
    expect(created.outs.clusterServerSha256).toBe(sha256(second.url));
    const refused = /^NetworkPolicy default\/rewritten: (delete|reading the object back) failed: the kubeconfig of `cluster` \(its file and context\) now resolves to another API server than the one the object was written to, so nothing was done there/;
    const deleteError = await deleteDocument("networkPolicy", olds.outs).catch((e: Error) => e);
    expect((deleteError as Error).message).toMatch(refused);
    await expect(readDocument("networkPolicy", "default/rewritten", olds.outs)).rejects.toThrow(refused);
    noSecretIn({ message: (deleteError as Error).message });
    expect(second.store.get(NP_TYPE, "default", "rewritten").status).toBe(200); // the new object survives
    expect(first.store.get(NP_TYPE, "default", "rewritten").status).toBe(200); // the old one waits for the file to point back

    fs.writeFileSync(own, first.kubeconfig({ token: ROTATED }));
    await deleteDocument("networkPolicy", olds.outs);
    expect(first.store.get(NP_TYPE, "default", "rewritten").status).toBe(404);
    fs.writeFileSync(own, second.kubeconfig({ token: TOKEN }));
    await deleteDocument("networkPolicy", created.outs);
    expect(second.store.get(NP_TYPE, "default", "rewritten").status).toBe(404);
  });

  it("Profile and Policy (Calico objects) follow the same rule", async () => {
    const rotated = { kubeconfigContent: first.kubeconfig({ token: ROTATED }) };
    const moved = { kubeconfigContent: second.kubeconfig({ token: TOKEN }) };
    for (const [kind, doc] of [["profile", web], ["policy", allowDb]] as const) {
      const created = await createDocument(kind, checked(kind, { ...doc, cluster: { kubeconfigContent: first.kubeconfig({ token: TOKEN }) } }));
      noSecretIn(created.outs);
      expect((await diffDocument(kind, created.outs, checked(kind, { ...doc, cluster: rotated }))).replaces).toEqual([]);
      expect((await diffDocument(kind, created.outs, checked(kind, { ...doc, cluster: moved }))).replaces).toEqual(["cluster"]);
      await deleteDocument(kind, created.outs);
    }
  });
});
