/** Parts of policies that match nothing in the model: each dialect's warning, by path, and none for a policy that works. */
import { modelWarnings } from "../../provider/compile/warnings";
import { parseModel } from "../../provider/model/model";

const endpoints = [
  { name: "shop/web-1", ips: ["10.0.0.1"], namespace: "shop", labels: { tier: "web" }, profiles: ["WEB"] },
  { name: "shop/db-1", ips: ["10.0.0.2"], namespace: "shop", labels: { tier: "db" }, profiles: ["DB"] },
];
const namespaces = [{ name: "shop", labels: { team: "a" } }, { name: "empty", labels: { team: "b" } }];
const profiles = [{ id: "WEB", tags: ["WEB"] }, { id: "DB" }];
const np = (spec: object) => ({ networkPolicies: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p", namespace: "shop" }, spec: { podSelector: { matchLabels: { tier: "db" } }, ...spec } }] });
const from = (peer: object) => np({ ingress: [{ from: [peer] }] });

/** [what, the model's policies, the warnings as "path: message"] */
const cases: [string, Record<string, unknown>, string[]][] = [
  ["a policy of each dialect that works", {
    network: { policy: [{ from: { selector: "tier = web" }, to: { selector: "tier = db" }, action: "allow" }, { between: { groupBy: "tier" }, action: "allow" }] },
    profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", src_tag: "DB", src_selector: "tier == 'db'" }] }, { id: "DB" }],
    policies: [{ name: "p", selector: "tier == 'db'", inbound_rules: [{ action: "allow", "!src_tag": "WEB" }] }],
    ...from({ namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { tier: "web" } } }),
  }, []],
  ["Rancher from selector with a typo", { network: { policy: [{ from: { selector: "tier = wbe" }, action: "allow" }] } },
    ['network.policy[0].from.selector: "tier = wbe" matches no endpoint, so the rule never applies']],
  ["Rancher to selector", { network: { policy: [{ to: { selector: "tier in (cache)" }, ports: [6379], action: "allow" }] } },
    ['network.policy[0].to.selector: "tier in (cache)" matches no endpoint, so the rule never applies']],
  ["Rancher between selector", { network: { policy: [{ between: { selector: "dept" }, action: "allow" }] } },
    ['network.policy[0].between.selector: "dept" matches no endpoint, so the rule never applies']],
  ["Rancher groupBy a label nobody has", { network: { policy: [{ between: { groupBy: "com.rancher.department" }, action: "allow" }] } },
    ['network.policy[0].between.groupBy: no endpoint has the label "com.rancher.department", so the rule never applies']],
  ["Calico src_tag nobody carries", { profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", src_tag: "APP_789" }] }, { id: "DB" }] },
    ['profiles[0].inbound_rules[0].src_tag: no endpoint carries the tag "APP_789" (through its profiles), so the rule never matches']],
  ["Calico negated dst_tag", { profiles: [{ id: "WEB", outbound_rules: [{ action: "allow", "!dst_tag": "NOPE" }] }, { id: "DB" }] },
    ['profiles[0].outbound_rules[0]["!dst_tag"]: no endpoint carries the tag "NOPE" (through its profiles), so the negation excludes nothing']],
  ["Calico src_selector", { profiles: [{ id: "WEB", inbound_rules: [{ action: "deny", src_selector: "tier == 'dbb'" }] }, { id: "DB" }] },
    ["profiles[0].inbound_rules[0].src_selector: \"tier == 'dbb'\" matches no endpoint, so the rule never matches"]],
  ["Calico policy selector", { policies: [{ name: "p", selector: "role == 'db'", inbound_rules: [] }] },
    ["policies[0].selector: \"role == 'db'\" matches no endpoint, so the policy applies nowhere"]],
  ["Calico policy rule selector", { policies: [{ name: "p", selector: "all()", ingress: [{ action: "allow", dst_selector: "has(x)" }] }] },
    ['policies[0].ingress[0].dst_selector: "has(x)" matches no endpoint, so the rule never matches']],
  ["a profile no endpoint uses", { profiles: [...profiles, { id: "UNUSED", inbound_rules: [{ action: "allow", src_tag: "X" }] }] },
    ['profiles[2]: no endpoint lists the profile "UNUSED" in its profiles, so its rules apply nowhere']],
  ["Kubernetes podSelector of the policy", np({ podSelector: { matchLabels: { tier: "cache" } } }),
    ['networkPolicies[0].spec.podSelector: matches no endpoint in namespace "shop", so the policy applies to nothing']],
  ["Kubernetes peer podSelector", from({ podSelector: { matchLabels: { role: "frontend" } } }),
    ['networkPolicies[0].spec.ingress[0].from[0].podSelector: matches no endpoint in namespace "shop", so this peer admits nothing']],
  ["Kubernetes namespaceSelector matching no namespace", from({ namespaceSelector: { matchLabels: { project: "myproject" } } }),
    ["networkPolicies[0].spec.ingress[0].from[0].namespaceSelector: matches no namespace, so this peer admits nothing"]],
  ["Kubernetes namespaceSelector of empty namespaces", np({ egress: [{ to: [{ namespaceSelector: { matchLabels: { team: "b" } } }] }] }),
    ['networkPolicies[0].spec.egress[0].to[0].namespaceSelector: matches namespace "empty", which holds no endpoint, so this peer admits nothing']],
  ["Kubernetes podSelector inside the selected namespaces", from({ namespaceSelector: {}, podSelector: { matchLabels: { tier: "cache" } } }),
    ['networkPolicies[0].spec.ingress[0].from[0].podSelector: matches no endpoint in namespaces "empty", "shop" (the namespaceSelector\'s), so this peer admits nothing']],
  ["an ipBlock peer is not a selector", from({ ipBlock: { cidr: "192.0.2.0/24" } }), []],
];

test("a model without endpoints (policies for a cluster) gets none", () => {
  const model = parseModel({ profiles, network: { policy: [{ from: { selector: "tier = web" }, action: "allow" }] }, ...from({ podSelector: { matchLabels: { a: "b" } } }) });
  expect(modelWarnings(model)).toEqual([]);
});

test.each(cases)("%s", (_what, policies, expected) => {
  const model = parseModel({ endpoints, namespaces, profiles, ...policies });
  expect(modelWarnings(model).map((w) => `${w.path}: ${w.message}`)).toEqual(expected);
});
