/** What a document is in a cluster: API field → input property, import ids. */
import { clusterObjectOf, inputPathOf, networkPolicyDocumentFromLive, parseImportId } from "../../provider/resources/document-objects";

describe("inputPathOf", () => {
  const profile = { id: "WEB" };
  const policyV3Style = { name: "p", selector: "all()", ingress: [{ action: "allow" }] };
  it.each<[Parameters<typeof inputPathOf>[0], Record<string, unknown>, string, string]>([
    ["profile", profile, "spec.ingress[2].icmp.type", "inbound_rules[2]"],
    ["profile", profile, ".spec.egress[0]", "outbound_rules[0]"],
    // A 409 on a list the API treats as atomic names the whole list.
    ["profile", profile, ".spec.ingress", "inbound_rules"],
    ["policy", policyV3Style, ".spec.ingress", "ingress"],
    ["policy", policyV3Style, ".spec.egress", "outbound_rules"],
    ["profile", profile, "spec.ingressOther", "spec.ingressOther"],
    ["profile", profile, "spec.labelsToApply", "tags"],
    ["profile", profile, "metadata.name", "id"],
    ["policy", { name: "p", selector: "all()" }, "spec.ingress[1].action", "inbound_rules[1]"],
    ["policy", policyV3Style, "spec.ingress[0].action", "ingress[0]"],
    ["policy", policyV3Style, "spec.selector", "selector"],
    ["networkPolicy", {}, "spec.podSelector.matchLabels", "spec.podSelector.matchLabels"],
  ])("%s %s → %s", (kind, document, field, expected) => {
    expect(inputPathOf(kind, document, field)).toBe(expected);
  });
});

describe("import", () => {
  it.each<[string, ReturnType<typeof parseImportId>]>([
    ["shop/db", { namespace: "shop", name: "db" }],
    ["db", { namespace: "default", name: "db" }],
    ["", undefined],
    ["shop/", undefined],
    ["a/b/c", undefined],
  ])("id %j", (id, expected) => {
    expect(parseImportId(id)).toEqual(expected);
  });

  it("keeps labels and the user's annotations of the live object, drops server metadata", () => {
    const live = {
      apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
      metadata: { name: "db", namespace: "shop", uid: "u", resourceVersion: "7", managedFields: [], labels: { a: "b" }, annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
      spec: { podSelector: {} },
    };
    expect(networkPolicyDocumentFromLive(live)).toEqual({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "db", namespace: "shop", labels: { a: "b" } }, spec: { podSelector: {} } });
  });

  it("a NetworkPolicy without namespace is written to default", () => {
    expect(clusterObjectOf("networkPolicy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "x" }, spec: { podSelector: {} } }).metadata).toEqual({ name: "x", namespace: "default" });
  });
});
