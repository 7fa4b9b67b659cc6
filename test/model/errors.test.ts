/**
 * Common mistakes, one per row, in each dialect: the first line of the error names the real
 * mistake and its fix, and it reads the same through both doors — `netpol validate` on a model
 * file and the Pulumi `check` of a Network (and of the document resources).
 */
import { stringify } from "yaml";
import { checkDocument } from "../../provider/resources/document-operations";
import { checkNetwork } from "../../provider/resources/network-operations";
import { runCli, tempFile } from "../support/cli";
import { networkInputs } from "../resources/fixtures";

const endpoints = networkInputs().endpoints;
const rule = (r: object) => ({ network: { policy: [r] } });
const profile = (r: object) => ({ profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", ...r }] }] });
const policy = (p: object) => ({ policies: [{ name: "p", selector: "tier == 'db'", inbound_rules: [], ...p }] });
const np = (spec: object, over: object = {}) => ({
  networkPolicies: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p", namespace: "x" }, spec: { podSelector: {}, ...spec }, ...over }],
});
const ingressPort = (port: object) => np({ ingress: [{ ports: [port] }] });

/** [what, the mistake (top-level keys of a model), the first line of the message after "FILE: "] */
const mistakes: [string, Record<string, unknown>, string][] = [
  // Rancher
  ["within misspelt", rule({ within: "stacks", action: "allow" }), 'network.policy[0].within: must be "stack", "service" or "linked", not "stacks" (did you mean "stack"?)'],
  ["within capitalised", rule({ within: "Stack", action: "allow" }), 'network.policy[0].within: must be "stack", "service" or "linked", not "Stack" (did you mean "stack"?)'],
  ["action capitalised", rule({ action: "Allow", within: "stack" }), 'network.policy[0].action: must be "allow" or "deny", not "Allow" (did you mean "allow"?)'],
  ["action in iptables' words", rule({ within: "stack", action: "accept" }), 'network.policy[0].action: must be "allow" or "deny", not "accept" (did you mean "allow"?)'],
  ["action missing", rule({ within: "stack" }), 'network.policy[0].action: is required ("allow" or "deny")'],
  ["from as a bare selector", rule({ from: "tier = web", action: "allow" }), 'network.policy[0].from: a selector goes under "selector": write from: { selector: "tier = web" }'],
  ["to as a bare selector", rule({ to: "tier = db", ports: [5432], action: "allow" }), 'network.policy[0].to: a selector goes under "selector": write to: { selector: "tier = db" }'],
  ["groupBy misspelt", rule({ between: { groupby: "tier" }, action: "allow" }), 'network.policy[0].between.groupby: unknown field (did you mean "groupBy"?); remove it or fix its name'],
  ["between without its key", rule({ between: {}, action: "allow" }), 'network.policy[0].between: needs "groupBy" or "selector"'],
  ["between as a string", rule({ between: "tier", action: "allow" }), 'network.policy[0].between: must be an object with "groupBy" or "selector", not string'],
  ["groupBy and selector together", rule({ between: { groupBy: "tier", selector: "tier" }, action: "allow" }), 'network.policy[0].between.selector: cannot be combined with "groupBy" in one between: between has "groupBy" or "selector"; split it in two'],
  ["within misspelt as a key", rule({ withn: "stack", action: "allow" }), 'network.policy[0].withn: unknown field (did you mean "within"?); remove it or fix its name'],
  ["within and ports in one rule", rule({ within: "stack", ports: [80], action: "allow" }), 'network.policy[0].ports: cannot be combined with "within" in one rule: a rule has "within", "between" or "from"/"to"/"ports"; split it in two'],
  ["port out of range", rule({ ports: [70000], action: "allow" }), "network.policy[0].ports[0]: a port must be from 1 to 65535"],
  ["port range written with a colon", rule({ ports: ["8000:8080"], action: "allow" }), 'network.policy[0].ports[0]: "8000:8080" is not a port: use N, "N/tcp", "N/udp", "N/sctp" or "N-M/tcp" with 1 <= N <= M <= 65535 (did you mean "8000-8080/tcp"?)'],
  ["ICMP as a port protocol", rule({ ports: ["80/icmp"], action: "allow" }), 'network.policy[0].ports[0]: "80/icmp" is not a port: use N, "N/tcp", "N/udp", "N/sctp" or "N-M/tcp" with 1 <= N <= M <= 65535'],
  ["defaultPolicyAction in iptables' words", { network: { defaultPolicyAction: "drop" } }, 'network.defaultPolicyAction: must be "allow" or "deny", not "drop" (did you mean "deny"?)'],
  ["policy as a map", { network: { policy: { within: "stack", action: "allow" } } }, "network.policy: must be array, not object"],
  // Calico
  ["protocol in upper case", profile({ protocol: "TCP", dst_ports: [80] }), 'profiles[0].inbound_rules[0].protocol: must be "tcp", "udp", "icmp", "icmpv6", "sctp" or "udplite", not "TCP" (did you mean "tcp"?)'],
  ["protocol number out of range", profile({ protocol: 300 }), "profiles[0].inbound_rules[0].protocol: a protocol number must be 1-255"],
  ["Calico action in iptables' words", profile({ action: "accept" }), 'profiles[0].inbound_rules[0].action: must be "allow", "deny", "next-tier", "pass" or "log", not "accept" (did you mean "allow"?)'],
  ["action misspelt as a key", { profiles: [{ id: "WEB", inbound_rules: [{ actoin: "allow" }] }] }, 'profiles[0].inbound_rules[0].actoin: unknown field (did you mean "action"?); remove it or fix its name'],
  ["src_tag misspelt", profile({ src_tags: "WEB" }), 'profiles[0].inbound_rules[0].src_tags: unknown field (did you mean "src_tag"?); remove it or fix its name'],
  ["rule list named short", { profiles: [{ id: "WEB", inbound: [] }] }, 'profiles[0].inbound: unknown field (did you mean "inbound_rules"?); remove it or fix its name'],
  ["Calico port range with a dash", profile({ protocol: "tcp", dst_ports: ["8000-8080"] }), 'profiles[0].inbound_rules[0].dst_ports[0]: "8000-8080" is not a port range: write "N:M" with 0 <= N <= M <= 65535 (did you mean "8000:8080"?)'],
  ["ports without a protocol", profile({ dst_ports: [80] }), 'profiles[0].inbound_rules[0].dst_ports: ports need "protocol" set to tcp, udp, sctp or udplite'],
  ["ip_version as a string", profile({ ip_version: "4" }), 'profiles[0].inbound_rules[0].ip_version: ip_version must be 4 or 6, not "4"'],
  ["Calico selector with =", policy({ selector: "tier = 'db'" }), `policies[0].selector: column 6: unexpected character "=" (did you mean "=="? Calico selectors compare with ==, !=, and join with &&, ||) in selector "tier = 'db'"`],
  ["Calico selector with an unquoted value", policy({ selector: "tier == db" }), `policies[0].selector: column 9: expected a quoted value, found "db" (did you mean 'db'?) in selector "tier == db"`],
  // Kubernetes
  ["protocol in lower case (v1)", ingressPort({ protocol: "tcp", port: 6379 }), 'networkPolicies[0].spec.ingress[0].ports[0].protocol: must be "TCP", not "tcp": networking.k8s.io/v1 takes upper case, as the API server does'],
  ["port in quotes", ingressPort({ port: "6379" }), 'networkPolicies[0].spec.ingress[0].ports[0].port: "6379" is a number in quotes; write 6379 without quotes (a named port has at least one letter)'],
  ["kind misspelt", np({}, { kind: "Networkpolicy" }), 'networkPolicies[0].kind: must be "NetworkPolicy", not "Networkpolicy" (did you mean "NetworkPolicy"?)'],
  ["apiVersion of a beta that never was", np({}, { apiVersion: "networking.k8s.io/v1beta1" }), 'networkPolicies[0].apiVersion: must be "networking.k8s.io/v1" or "extensions/v1beta1", not "networking.k8s.io/v1beta1" (did you mean "networking.k8s.io/v1"?)'],
  ["a Calico v3 object among NetworkPolicies", np({}, { apiVersion: "projectcalico.org/v3", kind: "GlobalNetworkPolicy" }), 'networkPolicies[0].kind: must be "NetworkPolicy", not "GlobalNetworkPolicy"; that is a Calico policy: write it under policies, in Calico\'s v1 form (name, order, selector, inbound_rules)'],
  ["matchLabels misspelt", np({ podSelector: { matchLabel: { role: "db" } } }), 'networkPolicies[0].spec.podSelector.matchLabel: unknown field (did you mean "matchLabels"?); remove it or fix its name'],
  ["ingress misspelt", np({ ingres: [] }), 'networkPolicies[0].spec.ingres: unknown field (did you mean "ingress"?); remove it or fix its name'],
  ["policyTypes in lower case", np({ policyTypes: ["ingress"] }), 'networkPolicies[0].spec.policyTypes[0]: must be "Ingress" or "Egress", not "ingress" (did you mean "Ingress"?)'],
  ["operator in lower case", np({ podSelector: { matchExpressions: [{ key: "role", operator: "in", values: ["db"] }] } }), 'networkPolicies[0].spec.podSelector.matchExpressions[0].operator: must be "In", "NotIn", "Exists" or "DoesNotExist", not "in" (did you mean "In"?)'],
  ["ipBlock without a mask", np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1" } }] }] }), 'networkPolicies[0].spec.ingress[0].from[0].ipBlock.cidr: CIDR mask is missing in "10.0.0.1". Did you mean "10.0.0.1/32"?'],
  ["matchLabels as a string", np({ podSelector: { matchLabels: "role=db" } }), "networkPolicies[0].spec.podSelector.matchLabels: must be object, not string"],
  // Inventory
  ["labels misspelt", { endpoints: [{ name: "e", ips: ["10.0.0.9"], lables: { a: "b" } }] }, 'endpoints[0].lables: unknown field (did you mean "labels"?); remove it or fix its name'],
  ["profiles written singular", { endpoints: [{ name: "e", ips: ["10.0.0.9"], profile: ["WEB"] }] }, 'endpoints[0].profile: unknown field (did you mean "profiles"?); remove it or fix its name'],
  ["ips as a single string", { endpoints: [{ name: "e", ips: "10.0.0.9" }] }, "endpoints[0].ips: must be array, not string"],
  ["isolation capitalised wrong", { namespaces: [{ name: "x", isolation: "defaultDeny" }] }, 'namespaces[0].isolation: must be "DefaultDeny", not "defaultDeny" (did you mean "DefaultDeny"?)'],
];

/** The model file of a mistake: the fixture's hosts and endpoints, then the mistake's keys. */
function modelOf(mistake: Record<string, unknown>): Record<string, unknown> {
  return { hosts: [{ name: "h1" }, { name: "h2" }], endpoints, ...mistake };
}

/** The Network inputs of a mistake: the model's `network` is the resource's own `policy` / `defaultPolicyAction`. */
function networkOf(mistake: Record<string, unknown>): Record<string, unknown> {
  const { network, ...rest } = mistake;
  return networkInputs({ ...(typeof network === "object" && network !== null ? network : {}), ...rest });
}

describe("common mistakes", () => {
  test("the table has at least 30 of them", () => expect(mistakes.length).toBeGreaterThanOrEqual(30));

  test.each(mistakes)("%s: netpol validate", async (_what, mistake, first) => {
    const file = tempFile("model.yaml", stringify(modelOf(mistake)));
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toBe(`${file}: ${first}`);
  });

  test.each(mistakes)("%s: the Network's check says the same", (_what, mistake, first) => {
    const { failures } = checkNetwork(networkOf(mistake));
    expect(failures.length).toBeGreaterThan(0);
    expect(`${failures[0].property}: ${failures[0].reason}`).toBe(first.replace(/^network\./, ""));
  });

  const documents = mistakes.flatMap(([what, mistake, first]): [string, "profile" | "policy" | "networkPolicy", Record<string, unknown>, string][] => {
    const m = /^(profiles|policies|networkPolicies)\[0\]\.(.*)$/.exec(first);
    if (!m) return [];
    const list = mistake[m[1]] as Record<string, unknown>[];
    const kind = m[1] === "profiles" ? "profile" : m[1] === "policies" ? "policy" : "networkPolicy";
    return [[what, kind, list[0], m[2]]];
  });

  test.each(documents)("%s: the %s resource's check says the same", (_what, kind, doc, first) => {
    const { failures } = checkDocument(kind, doc);
    expect(failures.length).toBeGreaterThan(0);
    expect(`${failures[0].property}: ${failures[0].reason}`).toBe(first);
  });
});
