import { stringify } from "yaml";
import { parseModel } from "../../provider/model/model";
import { InputError } from "../../provider/model/errors";
import { runCli, tempFile } from "../support/cli";

const ep = (over: object = {}) => ({ name: "x/a", ips: ["10.42.0.5"], ...over });
const np = (spec: object, over: object = {}) => ({
  apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p", namespace: "x" }, spec: { podSelector: {}, ...spec }, ...over,
});
const calicoRule = (rule: object) => ({ profiles: [{ id: "WEB", inbound_rules: [{ action: "allow", ...rule }] }] });

/** [what, document (object → YAML, or raw text), text the error must contain (the path)] */
const malformed: [string, object | string, string][] = [
  ["hosts is not a list", { hosts: 5 }, "hosts: must be array"],
  ["unknown top-level field suggests the right one", { endpoint: [] }, 'endpoint: unknown field (did you mean "endpoints"?)'],
  ["unknown endpoint field", { endpoints: [ep({ lables: { a: "b" } })] }, 'endpoints[0].lables: unknown field (did you mean "labels"?)'],
  ["endpoints is a string", { endpoints: "x/a" }, "endpoints: must be array"],
  ["bad IPv4 address", { endpoints: [ep({ ips: ["10.0.0.256"] })] }, "endpoints[0].ips[0]"],
  ["bad IPv6 address", { endpoints: [ep({ ips: ["fd00:::1"] })] }, "endpoints[0].ips[0]"],
  ["no addresses", { endpoints: [ep({ ips: [] })] }, "endpoints[0].ips: an endpoint needs at least one IP address"],
  ["ipBlock prefix too long", { networkPolicies: [np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }] })] }, "networkPolicies[0].spec.ingress[0].from[0].ipBlock.cidr"],
  ["ipBlock host bits suggest the fix", { networkPolicies: [np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/24" } }] }] })] }, 'Did you mean "10.0.0.0/24"?'],
  ["ipBlock without mask", { networkPolicies: [np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1" } }] }] })] }, 'Did you mean "10.0.0.1/32"?'],
  ["except outside its cidr", { networkPolicies: [np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/24", except: ["10.1.0.0/24"] } }] }] })] }, "ipBlock.except[0]"],
  ["port 0", { networkPolicies: [np({ ingress: [{ ports: [{ port: 0 }] }] })] }, "networkPolicies[0].spec.ingress[0].ports[0].port"],
  ["port 70000", { networkPolicies: [np({ ingress: [{ ports: [{ port: 70000 }] }] })] }, "networkPolicies[0].spec.ingress[0].ports[0].port"],
  ["endPort below port", { networkPolicies: [np({ ingress: [{ ports: [{ port: 90, endPort: 80 }] }] })] }, "ports[0].endPort: endPort 80 must be >= port 90"],
  ["endPort with a named port", { networkPolicies: [np({ ingress: [{ ports: [{ port: "http", endPort: 80 }] }] })] }, "ports[0].endPort: endPort needs a numeric port"],
  ["bad named port", { networkPolicies: [np({ ingress: [{ ports: [{ port: "HTTP_PORT" }] }] })] }, "ports[0].port"],
  ["ICMP is not a NetworkPolicy protocol", { networkPolicies: [np({ ingress: [{ ports: [{ protocol: "ICMP", port: 1 }] }] })] }, "ports[0].protocol"],
  ["wrong apiVersion", { networkPolicies: [np({}, { apiVersion: "networking.k8s.io/v2" })] }, "networkPolicies[0].apiVersion"],
  ["In without values", { networkPolicies: [np({ podSelector: { matchExpressions: [{ key: "a", operator: "In" }] } })] }, "spec.podSelector.matchExpressions[0].values"],
  ["unknown operator", { networkPolicies: [np({ podSelector: { matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] } ] } })] }, "matchExpressions[0].operator"],
  ["ipBlock combined with podSelector", { networkPolicies: [np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] })] }, "from[0].ipBlock: ipBlock cannot be combined"],
  ["missing podSelector", { networkPolicies: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p" }, spec: {} }] }, "networkPolicies[0].spec.podSelector: is required"],
  ["Calico range reversed", calicoRule({ protocol: "tcp", dst_ports: ["90:80"] }), "profiles[0].inbound_rules[0].dst_ports[0]"],
  ["Calico ports without protocol", calicoRule({ dst_ports: [80] }), "profiles[0].inbound_rules[0].dst_ports: ports need \"protocol\""],
  ["Calico icmp_type without icmp", calicoRule({ protocol: "tcp", icmp_type: 8 }), "profiles[0].inbound_rules[0].icmp_type"],
  ["Calico unknown action", calicoRule({ action: "accept" }), "profiles[0].inbound_rules[0].action"],
  ["Calico selector syntax, with column", { policies: [{ name: "p", selector: "role = 'db'", inbound_rules: [] }] }, "policies[0].selector: column 6"],
  ["Calico unbalanced parenthesis", calicoRule({ src_selector: "(a == 'b'" }), "profiles[0].inbound_rules[0].src_selector: column 10"],
  ["Calico bad ip_version", calicoRule({ ip_version: 5 }), "profiles[0].inbound_rules[0].ip_version"],
  ["Calico bad src_net", calicoRule({ src_net: "10.0.0.0/40" }), "profiles[0].inbound_rules[0].src_net"],
  ["Calico unknown negation", calicoRule({ "!src_tagz": "X" }), '["!src_tagz"]: unknown field'],
  ["bad Rancher groupBy key", { network: { policy: [{ between: { groupBy: "com.rancher/dept!" }, action: "allow" }] } }, "network.policy[0].between.groupBy"],
  ["bad Rancher action", { network: { defaultPolicyAction: "drop" } }, "network.defaultPolicyAction"],
  ["bad Rancher within", { network: { policy: [{ within: "namespace", action: "allow" }] } }, "network.policy[0].within"],
  ["bad Rancher port", { network: { policy: [{ ports: ["80/icmp"], action: "allow" }] } }, "network.policy[0].ports[0]"],
  ["label value too long", { endpoints: [ep({ labels: { a: "x".repeat(64) } })] }, 'endpoints[0].labels.a'],
  ["label key with bad prefix", { endpoints: [ep({ labels: { "Bad_Prefix/a": "b" } })] }, 'endpoints[0].labels["Bad_Prefix/a"]'],
  ["newline in a label value", { endpoints: [ep({ labels: { a: "b\nc" } })] }, "endpoints[0].labels.a"],
  ["shell metacharacters in an endpoint name", { endpoints: [ep({ name: "a;rm -rf /" })] }, "endpoints[0].name"],
  ["command substitution in a host name", { hosts: [{ name: "$(reboot)" }] }, "hosts[0].name"],
  ["newline in a stack name", { endpoints: [ep({ stack: "s\nrm" })] }, "endpoints[0].stack"],
  ["duplicate endpoint names", { endpoints: [ep(), ep({ ips: ["10.42.0.6"] })] }, 'endpoints[1].name: duplicate name "x/a"'],
  ["duplicate addresses", { endpoints: [ep(), ep({ name: "x/b" })] }, "endpoints[1].ips[0]: address 10.42.0.5 is already used"],
  ["unknown host", { hosts: [{ name: "h1" }], endpoints: [ep({ host: "h2" })] }, 'endpoints[0].host: host "h2" is not defined'],
  ["unknown profile", { endpoints: [ep({ profiles: ["DB"] })] }, 'endpoints[0].profiles[0]: profile "DB" is not defined'],
  ["bad backend", { hosts: [{ name: "h1", backend: "pf" }] }, "hosts[0].backend"],
  ["bad host key pin", { hosts: [{ name: "h1", ssh: { host: "10.0.0.1", hostKey: "md5:aa" } }] }, "hosts[0].ssh.hostKey"],
  ["namespace isolation value", { namespaces: [{ name: "x", isolation: "Deny" }] }, "namespaces[0].isolation"],
  ["YAML syntax error", "endpoints: [ { name: a\n", "not valid YAML or JSON"],
  ["empty document", "", "the document is empty"],
  ["a 10 MB document", `endpoints: []\n# ${"x".repeat(10 * 1024 * 1024)}\n`, "over the limit of 8 MiB from line 2 on"],
];

describe("malformed model documents", () => {
  test("the table is large enough", () => expect(malformed.length).toBeGreaterThanOrEqual(30));

  test.each(malformed)("%s → exit 1 naming the path", async (_what, doc, expected) => {
    const file = tempFile("model.yaml", typeof doc === "string" ? doc : stringify(doc));
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(file);
    expect(r.err).toContain(expected);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
  });
});

describe("parseModel", () => {
  test("reports every problem at once", () => {
    let caught: unknown;
    try {
      parseModel({ endpoints: [ep({ ips: ["bad"] }), ep({ name: "x/b", labels: { "!": "v" } })], network: { defaultPolicyAction: "maybe" } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(["endpoints[0].ips[0]", 'endpoints[1].labels["!"]', "network.defaultPolicyAction"]));
  });

  test("accepts IPv6, the seed's lowercase protocol and every dialect together", () => {
    const m = parseModel({
      endpoints: [ep({ ips: ["10.42.0.5", "fd00::5"], namespace: "x", labels: { role: "db" }, ports: [{ name: "redis", port: 6379 }] })],
      namespaces: [{ name: "x", isolation: "DefaultDeny" }],
      network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
      profiles: [{ id: "WEB" }],
      policies: [{ name: "p", order: 10, selector: "role == 'db' && !has(legacy)", inbound_rules: [{ action: "next-tier" }] }],
      networkPolicies: [np({ ingress: [{ ports: [{ protocol: "tcp", port: 6379 }] }] }, { apiVersion: "extensions/v1beta1" })],
    });
    expect(m.networkPolicies?.[0].spec.ingress?.[0].ports?.[0].protocol).toBe("TCP");
  });
});

describe("YAML syntax errors", () => {
  test("are reported once, with line and column, and the offending line under a caret", async () => {
    const file = tempFile("model.yaml", "endpoints:\n  - name: a\n   ips: [10.0.0.1]\n");
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${file}: line 3, column 1: not valid YAML or JSON: Sequence item without - indicator\n    3 |    ips: [10.0.0.1]\n      | ^\n`);
  });

  test("a duplicate key names its line", async () => {
    const file = tempFile("model.yaml", "name: a\nendpoints: []\nname: b\n");
    const r = await runCli(["validate", file]);
    expect(r.err.split("\n")[0]).toBe(`${file}: line 3, column 1: not valid YAML or JSON: Map keys must be unique`);
  });
});
