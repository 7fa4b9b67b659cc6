import { clusterObjects } from "../../provider/convert";
import { policyToV3, profileToV3, ruleToV3 } from "../../provider/convert/calico-v3";
import { matchesSelector, parseCalicoSelector } from "../../provider/model/selectors";
import { parseModel } from "../../provider/model/model";
import { CalicoRule } from "../../provider/model/calico";
import { exampleModel } from "../support/models";

describe("Calico v1 rule → v3", () => {
  const table: [string, CalicoRule, object][] = [
    ["plain allow", { action: "allow" }, { action: "Allow" }],
    ["next-tier is Pass", { action: "next-tier" }, { action: "Pass" }],
    ["log", { action: "log" }, { action: "Log" }],
    ["protocol and ports with a range", { action: "allow", protocol: "tcp", dst_ports: [80, "8000:8080"] }, { action: "Allow", protocol: "TCP", destination: { ports: [80, "8000:8080"] } }],
    ["numeric protocol", { action: "deny", protocol: 132 }, { action: "Deny", protocol: 132 }],
    ["negated protocol", { action: "deny", "!protocol": "udp" }, { action: "Deny", notProtocol: "UDP" }],
    ["tag becomes has()", { action: "allow", src_tag: "APP_7890" }, { action: "Allow", source: { selector: "has(APP_7890)" } }],
    ["tag and selector are ANDed", { action: "allow", src_tag: "T", src_selector: "role == 'db'" }, { action: "Allow", source: { selector: "(has(T)) && (role == 'db')" } }],
    ["negated tag and selector are ORed", { action: "allow", "!src_tag": "T", "!src_selector": "a == 'b'" }, { action: "Allow", source: { notSelector: "(has(T)) || (a == 'b')" } }],
    ["nets", { action: "allow", src_net: "10.0.0.0/8", "!dst_net": "10.1.0.0/16" }, { action: "Allow", source: { nets: ["10.0.0.0/8"] }, destination: { notNets: ["10.1.0.0/16"] } }],
    ["icmp type and code", { action: "allow", protocol: "icmp", icmp_type: 3, icmp_code: 1 }, { action: "Allow", protocol: "ICMP", icmp: { type: 3, code: 1 } }],
    ["negated icmp", { action: "deny", protocol: "icmp", "!icmp_type": 8 }, { action: "Deny", protocol: "ICMP", notICMP: { type: 8 } }],
    ["source ports and negated destination ports", { action: "allow", protocol: "udp", src_ports: [53], "!dst_ports": ["1:1023"] }, { action: "Allow", protocol: "UDP", source: { ports: [53] }, destination: { notPorts: ["1:1023"] } }],
    ["ip version", { action: "allow", ip_version: 6 }, { action: "Allow", ipVersion: 6 }],
  ];
  test.each(table)("%s", (_what, rule, expected) => expect(ruleToV3(rule)).toEqual(expected));
});

describe("profiles and policies", () => {
  test("a fresh profile's defaults are made explicit", () => {
    expect(profileToV3({ id: "WEB" })).toEqual({
      apiVersion: "projectcalico.org/v3", kind: "Profile",
      metadata: { name: "web", annotations: { "netpol.pulumi.io/calico-v1-id": "WEB" } },
      spec: { ingress: [{ action: "Allow", source: { selector: "has(WEB)" } }], egress: [{ action: "Allow" }], labelsToApply: { WEB: "" } },
    });
  });

  test("a lowercase id keeps its name and gets no annotation", () => {
    expect(profileToV3({ id: "db", tags: [], inbound_rules: [], outbound_rules: [] }).metadata).toEqual({ name: "db" });
  });

  test("a policy's types follow the rule lists it writes", () => {
    const p = policyToV3({ name: "p", order: 5, selector: "role == 'db'", ingress: [{ action: "deny" }] });
    expect(p).toEqual({ apiVersion: "projectcalico.org/v3", kind: "GlobalNetworkPolicy", metadata: { name: "p" },
      spec: { order: 5, selector: "role == 'db'", types: ["Ingress"], ingress: [{ action: "Deny" }] } });
  });

  test("tags → labelsToApply and has() select exactly the endpoints src_tag meant", () => {
    const model = exampleModel("calico-web-app.yaml");
    const objects = clusterObjects(model);
    const profiles = new Map(objects.filter((o) => o.kind === "Profile").map((o) => [String(o.metadata.annotations?.["netpol.pulumi.io/calico-v1-id"] ?? o.metadata.name), o]));
    const labelsOf = (ep: { profiles?: string[] }) => Object.assign({}, ...(ep.profiles ?? []).map((p) => (profiles.get(p)?.spec as { labelsToApply: object }).labelsToApply));
    const tagged = (tag: string) => (model.endpoints ?? []).filter((e) => (e.profiles ?? []).some((p) => (model.profiles ?? []).find((x) => x.id === p)?.tags?.includes(tag) ?? p === tag));
    const sel = parseCalicoSelector("has(APP_7890)");
    const viaV3 = (model.endpoints ?? []).filter((e) => matchesSelector(sel, labelsOf(e))).map((e) => e.name);
    expect(viaV3).toEqual(tagged("APP_7890").map((e) => e.name));
    expect(viaV3.length).toBeGreaterThan(0);
  });
});

describe("Kubernetes objects", () => {
  const model = parseModel({
    namespaces: [{ name: "default", isolation: "DefaultDeny" }, { name: "open" }],
    networkPolicies: [{ apiVersion: "extensions/v1beta1", kind: "NetworkPolicy", metadata: { name: "test-network-policy" },
      spec: { podSelector: { matchLabels: { role: "db" } }, ingress: [{ ports: [{ protocol: "tcp", port: 6379 }] }] } }],
  });

  test("v1beta1 becomes networking.k8s.io/v1 in its namespace, DefaultDeny a default-deny policy", () => {
    const objects = clusterObjects(model);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      "networking.k8s.io/v1 NetworkPolicy default/default-deny-ingress",
      "networking.k8s.io/v1 NetworkPolicy default/test-network-policy",
    ]);
    expect((objects[1].spec as { ingress: { ports: { protocol: string }[] }[] }).ingress[0].ports[0].protocol).toBe("TCP");
  });

  test("or, when asked, the legacy annotation on the Namespace", () => {
    const ns = clusterObjects(model, { legacyIsolationAnnotation: true })[0];
    expect(ns).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default", annotations: { "net.beta.kubernetes.io/network-policy": '{"ingress":{"isolation":"DefaultDeny"}}' } } });
  });
});
