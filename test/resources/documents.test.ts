/**
 * Profile, Policy and NetworkPolicy providers: validation and identity (no server). What they do
 * with a cluster target, against a real kube-apiserver, is cluster-documents.test.ts.
 */
import { checkDocument, createDocument, deleteDocument, diffDocument, DocumentKind, readDocument } from "../../provider/resources/document-operations";
import { UNKNOWN } from "../../provider/resources/inputs";

const policy = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "db", namespace: "shop" }, spec: { podSelector: { matchLabels: { role: "db" } }, ingress: [{ ports: [{ port: 6379 }] }] } };

describe("checkDocument", () => {
  it.each<[DocumentKind, Record<string, unknown>, string, string]>([
    ["profile", { profileId: "bad id!" }, "id", "a profile id"],
    ["profile", { profileId: "WEB", inbound_rules: [{ action: "allow", dst_ports: [80] }] }, "inbound_rules[0].dst_ports", 'ports need "protocol"'],
    ["policy", { name: "p", selector: "role ==" }, "selector", ""],
    ["networkPolicy", { ...policy, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 70 }] }] } }, "spec.ingress[0].ports[0].endPort", "endPort 70 must be >= port 80"],
    ["networkPolicy", { ...policy, kind: "Policy" }, "kind", 'must be "NetworkPolicy", not "Policy"'],
  ])("%s %j → %s", (kind, news, property, reason) => {
    expect(checkDocument(kind, news).failures).toContainEqual({ property, reason: expect.stringContaining(reason) });
  });

  it("exposes the validated document (v1beta1 converted, the profile id under `id`)", () => {
    expect(checkDocument("networkPolicy", { ...policy, apiVersion: "extensions/v1beta1" }).inputs.document).toMatchObject({ apiVersion: "networking.k8s.io/v1", spec: { ingress: [{ ports: [{ port: 6379 }] }] } });
    expect(checkDocument("profile", { profileId: "WEB" }).inputs.document).toEqual({ id: "WEB" });
    expect(checkDocument("profile", { profileId: "WEB", tags: UNKNOWN })).toEqual({ inputs: { profileId: "WEB", tags: UNKNOWN, document: UNKNOWN }, failures: [] });
  });
});

describe("diffDocument", () => {
  const PROD = { context: "prod" };
  it.each<[DocumentKind, Record<string, unknown>, Record<string, unknown>, boolean, string[]]>([
    ["profile", { profileId: "WEB" }, { profileId: "WEB" }, false, []],
    ["profile", { profileId: "WEB" }, { profileId: "WEB", tags: ["X"] }, true, []],
    ["profile", { profileId: "WEB" }, { profileId: "APP" }, true, ["profileId"]],
    ["policy", { name: "a", selector: "all()" }, { name: "b", selector: "all()" }, true, ["name"]],
    ["networkPolicy", policy, { ...policy, metadata: { name: "db", namespace: "other" } }, true, ["metadata"]],
    ["networkPolicy", policy, { ...policy, cluster: { context: "prod" } }, true, ["cluster"]],
    // With a cluster, the object as written decides: spellings the API server stores alike are no change.
    ["networkPolicy", { ...policy, cluster: PROD }, { ...policy, spec: { ...policy.spec, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: 6379, protocol: "TCP" }] }] }, cluster: PROD }, false, []],
    ["networkPolicy", { ...policy, cluster: PROD }, { ...policy, spec: { ...policy.spec, egress: [] }, cluster: PROD }, false, []],
    ["networkPolicy", { ...policy, cluster: PROD }, { ...policy, apiVersion: "extensions/v1beta1", cluster: PROD }, false, []],
    ["networkPolicy", { ...policy, cluster: PROD }, { ...policy, spec: { ...policy.spec, policyTypes: ["Ingress", "Egress"] }, cluster: PROD }, true, []],
    ["networkPolicy", { ...policy, cluster: PROD }, { ...policy, cluster: { ...PROD, force: true } }, true, []],
    // Without one, the document as given.
    ["networkPolicy", policy, { ...policy, spec: { ...policy.spec, policyTypes: ["Ingress"] } }, true, []],
  ])("%s", async (kind, olds, news, changes, replaces) => {
    expect(await diffDocument(kind, olds, news)).toEqual({ changes, replaces, deleteBeforeReplace: false });
  });
});
