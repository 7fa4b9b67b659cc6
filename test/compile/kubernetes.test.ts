/**
 * Kubernetes NetworkPolicy compiler, checked through the analysis: each case is a set of policies
 * over the shared inventory (test/fixtures/kubernetes/inventory.yaml) and the flows the Kubernetes
 * API documentation says they allow or deny.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { reach, ReachResult } from "../../provider/analyze/reach";
import { parseProbe } from "../../provider/analyze/probe";
import { compile } from "../../provider/compile";
import { Layer, PolicySet } from "../../provider/ir";
import { ModelInput, parseModel, parseModelText } from "../../provider/model/model";

type PolicyInput = NonNullable<ModelInput["networkPolicies"]>[number];
type Spec = PolicyInput["spec"];
type NamespaceInput = NonNullable<ModelInput["namespaces"]>[number];
/** [from, to, probe, allowed] */
type Flow = [string, string, string, boolean];

const ROOT = join(__dirname, "..", "..");
const inventory = parseYaml(readFileSync(join(ROOT, "test/fixtures/kubernetes/inventory.yaml"), "utf8")) as ModelInput;

/** `namespace: null` leaves metadata.namespace out. */
const policy = (name: string, spec: Spec, namespace: string | null = "prod",
  apiVersion: PolicyInput["apiVersion"] = "networking.k8s.io/v1"): PolicyInput =>
  ({ apiVersion, kind: "NetworkPolicy", metadata: { name, ...(namespace ? { namespace } : {}) }, spec });

const db = { matchLabels: { app: "db" } };
const app = (name: string) => ({ matchLabels: { app: name } });

function compileCase(policies: PolicyInput[], namespaces?: NamespaceInput[]): PolicySet {
  return compile(parseModel({ ...inventory, networkPolicies: policies, ...(namespaces ? { namespaces } : {}) }));
}

function check(set: PolicySet, from: string, to: string, probeText: string): ReachResult {
  const probe = parseProbe(probeText);
  if (typeof probe === "string") throw new Error(probe);
  return reach(set, from, to, probe);
}

function kubernetesLayer(set: PolicySet): Layer {
  const layer = set.layers.find((l) => l.name === "kubernetes");
  if (!layer) throw new Error("no kubernetes layer");
  return layer;
}

interface Case {
  name: string;
  policies: PolicyInput[];
  namespaces?: NamespaceInput[];
  flows: Flow[];
}

const cases: Case[] = [
  {
    name: "an ingress-only policy isolates ingress and leaves egress open",
    policies: [policy("db-from-api", { podSelector: db, ingress: [{ from: [{ podSelector: app("api") }], ports: [{ port: 5432 }] }] })],
    flows: [
      ["prod-api", "prod-db", "tcp/5432", true],
      ["prod-web", "prod-db", "tcp/5432", false],
      ["prod-api", "prod-db", "tcp/80", false],
      ["prod-api", "prod-db", "udp/5432", false],
      ["staging-api", "prod-db", "tcp/5432", false], // podSelector alone: the policy's namespace only
      ["prod-db", "prod-web", "tcp/80", true],
      ["prod-db", "outside", "tcp/443", true],
      ["prod-web", "prod-api", "tcp/80", true],
    ],
  },
  {
    name: "an egress-only policy (policyTypes [Egress]) isolates egress and leaves ingress open",
    policies: [policy("api-to-db", { podSelector: app("api"), policyTypes: ["Egress"], egress: [{ to: [{ podSelector: db }], ports: [{ port: 5432 }] }] })],
    flows: [
      ["prod-api", "prod-db", "tcp/5432", true],
      ["prod-api", "prod-db", "tcp/80", false],
      ["prod-api", "prod-web", "tcp/8080", false],
      ["prod-api", "outside", "tcp/443", false],
      ["prod-web", "prod-api", "tcp/9090", true],
      ["staging-api", "staging-web", "tcp/80", true],
    ],
  },
  {
    name: "policyTypes omitted with egress rules: Ingress and Egress (ingress denied, no ingress rules)",
    policies: [policy("api-egress", { podSelector: app("api"), egress: [{ to: [{ podSelector: db }] }] })],
    flows: [
      ["prod-api", "prod-db", "tcp/80", true],
      ["prod-api", "prod-web", "tcp/80", false],
      ["prod-web", "prod-api", "tcp/9090", false],
      ["prod-web", "prod-db", "tcp/80", true],
    ],
  },
  {
    // The API server defaults policyTypes to [Ingress] here: Egress only for a non-empty egress list.
    name: "egress: [] with policyTypes omitted isolates ingress only: egress stays open",
    policies: [policy("api-closed", { podSelector: app("api"), egress: [] })],
    flows: [
      ["prod-api", "prod-db", "tcp/80", true],
      ["prod-api", "outside", "udp/53", true],
      ["prod-web", "prod-api", "tcp/9090", false],
      ["prod-web", "prod-db", "tcp/80", true],
    ],
  },
  {
    name: "egress: [] with policyTypes [Ingress, Egress] denies all egress (and all ingress)",
    policies: [policy("api-closed", { podSelector: app("api"), policyTypes: ["Ingress", "Egress"], egress: [] })],
    flows: [
      ["prod-api", "prod-db", "tcp/80", false],
      ["prod-api", "outside", "udp/53", false],
      ["prod-web", "prod-api", "tcp/9090", false],
      ["prod-web", "prod-db", "tcp/80", true],
    ],
  },
  {
    name: "egress: [{}] with policyTypes omitted isolates egress and allows all of it",
    policies: [policy("api-any", { podSelector: app("api"), egress: [{}] })],
    flows: [
      ["prod-api", "outside", "udp/53", true],
      ["prod-web", "prod-api", "tcp/9090", false],
    ],
  },
  {
    name: "policyTypes [] is defaulted like omitted (Ingress)",
    policies: [policy("db-closed", { podSelector: db, policyTypes: [], ingress: [] })],
    flows: [["prod-api", "prod-db", "tcp/5432", false], ["prod-db", "prod-api", "tcp/9090", true]],
  },
  {
    name: "ingress omitted with policyTypes [Ingress] denies all ingress",
    policies: [policy("db-closed", { podSelector: db, policyTypes: ["Ingress"] })],
    flows: [
      ["prod-api", "prod-db", "tcp/5432", false],
      ["ext", "prod-db", "tcp/5432", false],
      ["prod-db", "prod-api", "tcp/9090", true],
    ],
  },
  {
    name: "ingress: [] denies all ingress",
    policies: [policy("db-closed", { podSelector: db, ingress: [] })],
    flows: [["prod-api", "prod-db", "tcp/5432", false], ["outside", "prod-db", "udp/53", false], ["prod-db", "outside", "tcp/443", true]],
  },
  {
    name: "ingress: [{}] allows everything",
    policies: [policy("db-open", { podSelector: db, ingress: [{}] })],
    flows: [["prod-api", "prod-db", "tcp/5432", true], ["outside", "prod-db", "udp/53", true], ["staging-web", "prod-db", "sctp/9", true]],
  },
  {
    name: "from: [] is every source",
    policies: [policy("db-80", { podSelector: db, ingress: [{ from: [], ports: [{ port: 80 }] }] })],
    flows: [
      ["outside", "prod-db", "tcp/80", true],
      ["staging-api", "prod-db", "tcp/80", true],
      ["prod-api", "prod-db", "tcp/81", false],
    ],
  },
  {
    name: "rules of two policies selecting one pod add up",
    policies: [
      policy("db-from-api", { podSelector: db, ingress: [{ from: [{ podSelector: app("api") }] }] }),
      policy("backend-from-web", { podSelector: { matchLabels: { tier: "backend" } }, ingress: [{ from: [{ podSelector: app("web") }], ports: [{ port: 5432 }] }] }),
    ],
    flows: [
      ["prod-api", "prod-db", "tcp/80", true],
      ["prod-web", "prod-db", "tcp/5432", true],
      ["prod-web", "prod-db", "tcp/80", false],
      ["prod-web", "prod-api", "tcp/5432", true],
      ["prod-db", "prod-api", "tcp/5432", false],
      ["staging-web", "prod-db", "tcp/5432", false],
    ],
  },
  {
    name: "podSelector and namespaceSelector in one peer: both must match",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: "staging" } }, podSelector: app("web") }] }] })],
    flows: [
      ["staging-web", "prod-db", "tcp/5432", true],
      ["staging-api", "prod-db", "tcp/5432", false],
      ["prod-web", "prod-db", "tcp/5432", false],
      ["dev-web", "prod-db", "tcp/5432", false],
    ],
  },
  {
    name: "separate peers: either may match",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: "staging" } } }, { podSelector: app("web") }] }] })],
    flows: [
      ["staging-web", "prod-db", "tcp/5432", true],
      ["staging-api", "prod-db", "tcp/5432", true],
      ["prod-web", "prod-db", "tcp/5432", true],
      ["prod-api", "prod-db", "tcp/5432", false],
      ["dev-web", "prod-db", "tcp/5432", false],
      ["ext", "prod-db", "tcp/5432", false],
    ],
  },
  {
    name: "ipBlock with except matches addresses, pods or not",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ ipBlock: { cidr: "10.42.0.0/16", except: ["10.42.2.0/24"] } }] }] })],
    flows: [
      ["prod-web", "prod-db", "tcp/5432", true],
      ["staging-web", "prod-db", "tcp/5432", false],
      ["staging-api", "prod-db", "tcp/5432", false],
      ["dev-web", "prod-db", "tcp/5432", true],
      ["ext", "prod-db", "tcp/5432", true],
      ["outside", "prod-db", "tcp/5432", false],
    ],
  },
  {
    name: "ingress named ports resolve on the destination pod, by name and protocol",
    policies: [policy("named", { podSelector: {}, ingress: [{ ports: [{ port: "http" }, { port: "dns", protocol: "UDP" }, { port: "pg", protocol: "UDP" }] }] })],
    flows: [
      ["staging-api", "prod-web", "tcp/8080", true],
      ["staging-api", "prod-web", "tcp/9090", false],
      ["staging-api", "prod-api", "tcp/9090", true],
      ["staging-api", "prod-api", "tcp/8080", false],
      ["staging-api", "prod-api", "udp/53", true],
      ["staging-api", "prod-api", "tcp/53", false],
      ["staging-api", "prod-db", "tcp/5432", false], // pg is TCP; the rule names UDP
      ["staging-api", "prod-db", "udp/5432", false],
      ["staging-api", "prod-db", "tcp/8080", false], // prod-db has no port named http
    ],
  },
  {
    name: "egress named ports resolve on each destination peer",
    policies: [policy("db-out", {
      podSelector: db,
      policyTypes: ["Egress"],
      egress: [{
        to: [{ podSelector: app("web") }, { namespaceSelector: { matchLabels: { env: "staging" } }, podSelector: app("web") }, { ipBlock: { cidr: "10.42.9.0/24" } }],
        ports: [{ port: "http" }],
      }],
    })],
    flows: [
      ["prod-db", "prod-web", "tcp/8080", true],
      ["prod-db", "prod-web", "tcp/8081", false],
      ["prod-db", "staging-web", "tcp/8081", true],
      ["prod-db", "staging-web", "tcp/8080", false],
      ["prod-db", "prod-api", "tcp/9090", false],
      ["prod-db", "ext", "tcp/8080", false], // an ipBlock carries no port names
      ["prod-db", "dev-web", "tcp/8080", false],
    ],
  },
  {
    name: "egress named port without `to`: every destination that carries the name",
    policies: [policy("db-out", { podSelector: db, policyTypes: ["Egress"], egress: [{ ports: [{ port: "http" }] }] })],
    flows: [
      ["prod-db", "prod-api", "tcp/9090", true],
      ["prod-db", "prod-api", "tcp/8080", false],
      ["prod-db", "ext", "tcp/8080", true],
      ["prod-db", "staging-web", "tcp/8081", true],
      ["prod-db", "staging-api", "tcp/8080", false],
    ],
  },
  {
    name: "endPort makes a range",
    policies: [policy("db", { podSelector: db, ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }] })],
    flows: [
      ["prod-api", "prod-db", "tcp/7999", false],
      ["prod-api", "prod-db", "tcp/8000", true],
      ["prod-api", "prod-db", "tcp/8050", true],
      ["prod-api", "prod-db", "tcp/8100", true],
      ["prod-api", "prod-db", "tcp/8101", false],
      ["prod-api", "prod-db", "udp/8050", false],
    ],
  },
  {
    name: "a protocol without a port is every port of it; SCTP and UDP",
    policies: [policy("db", { podSelector: db, ingress: [{ ports: [{ protocol: "UDP" }, { protocol: "SCTP", port: 9 }] }] })],
    flows: [
      ["prod-api", "prod-db", "udp/53", true],
      ["prod-api", "prod-db", "udp/9999", true],
      ["prod-api", "prod-db", "tcp/53", false],
      ["prod-api", "prod-db", "sctp/9", true],
      ["prod-api", "prod-db", "sctp/10", false],
    ],
  },
  {
    name: "egress isolation blocks the source even where the destination is open",
    policies: [policy("web-closed", { podSelector: app("web"), policyTypes: ["Egress"] })],
    flows: [
      ["prod-web", "staging-web", "tcp/80", false],
      ["prod-web", "outside", "tcp/443", false],
      ["staging-web", "prod-web", "tcp/8080", true],
      ["prod-api", "outside", "tcp/443", true],
    ],
  },
  {
    name: "matchExpressions In",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] } }] }] })],
    flows: [
      ["prod-web", "prod-db", "tcp/1", true],
      ["staging-web", "prod-db", "tcp/1", true],
      ["dev-web", "prod-db", "tcp/1", true],
      ["prod-api", "prod-db", "tcp/1", false],
      ["ext", "prod-db", "tcp/1", false],
    ],
  },
  {
    name: "matchExpressions NotIn (a pod without the key matches too)",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["frontend"] }] } }] }] })],
    flows: [
      ["prod-api", "prod-db", "tcp/1", true],
      ["staging-web", "prod-db", "tcp/1", true],
      ["prod-web", "prod-db", "tcp/1", false],
      ["ext", "prod-db", "tcp/1", false],
    ],
  },
  {
    name: "matchExpressions Exists",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: "tier", operator: "Exists" }] } }] }] })],
    flows: [["prod-web", "prod-db", "tcp/1", true], ["prod-api", "prod-db", "tcp/1", true], ["staging-web", "prod-db", "tcp/1", false], ["dev-web", "prod-db", "tcp/1", false]],
  },
  {
    name: "matchExpressions DoesNotExist",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] } }] }] })],
    flows: [["staging-web", "prod-db", "tcp/1", true], ["dev-web", "prod-db", "tcp/1", true], ["prod-web", "prod-db", "tcp/1", false], ["ext", "prod-db", "tcp/1", false]],
  },
  {
    name: "matchExpressions in a namespaceSelector and in the policy's podSelector",
    policies: [policy("backend", {
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["db", "api"] }] },
      ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] } }] }],
    })],
    flows: [
      ["staging-web", "prod-db", "tcp/1", true],
      ["dev-web", "prod-api", "tcp/1", true], // dev has no env label: NotIn holds
      ["prod-web", "prod-db", "tcp/1", false],
      ["prod-db", "prod-web", "tcp/1", true], // prod-web is not selected
    ],
  },
  {
    name: "namespaceSelector {} is every pod of every namespace, and no non-pod",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    flows: [
      ["prod-web", "prod-db", "tcp/1", true],
      ["staging-api", "prod-db", "tcp/1", true],
      ["dev-web", "prod-db", "tcp/1", true],
      ["ext", "prod-db", "tcp/1", false],
      ["outside", "prod-db", "tcp/1", false],
    ],
  },
  {
    name: "every namespace carries kubernetes.io/metadata.name, declared or not",
    policies: [policy("db", { podSelector: db, ingress: [{ from: [
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dev" } } },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "staging", env: "staging" } } },
    ] }] })],
    flows: [
      ["dev-web", "prod-db", "tcp/1", true],
      ["staging-web", "prod-db", "tcp/1", true],
      ["prod-web", "prod-db", "tcp/1", false],
      ["default-app", "prod-db", "tcp/1", false],
    ],
  },
  {
    name: "endpoints without a namespace are never selected nor isolated",
    policies: [
      policy("all-closed", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, "default"),
      policy("prod-closed", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    ],
    flows: [
      ["ext", "outside", "tcp/80", true],
      ["outside", "ext", "tcp/80", true],
      ["outside", "prod-web", "tcp/80", false],
      ["default-app", "ext", "tcp/80", false],
      ["staging-web", "dev-web", "tcp/80", true],
    ],
  },
  {
    name: "a policy without metadata.namespace lives in default",
    policies: [policy("closed", { podSelector: {}, ingress: [] }, null)],
    flows: [["prod-web", "default-app", "tcp/80", false], ["prod-api", "prod-db", "tcp/5432", true]],
  },
  {
    name: "extensions/v1beta1 is converted (lowercase protocol)",
    policies: [policy("db-from-api", { podSelector: db, ingress: [{ from: [{ podSelector: app("api") }], ports: [{ protocol: "tcp", port: 5432 }] }] }, "prod", "extensions/v1beta1")],
    flows: [["prod-api", "prod-db", "tcp/5432", true], ["prod-api", "prod-db", "udp/5432", false], ["prod-web", "prod-db", "tcp/5432", false]],
  },
  {
    name: "namespace DefaultDeny isolates every pod of the namespace for ingress",
    policies: [],
    namespaces: [{ name: "prod", labels: { env: "prod" } }, { name: "staging", labels: { env: "staging" }, isolation: "DefaultDeny" }],
    flows: [
      ["prod-web", "staging-web", "tcp/80", false],
      ["staging-api", "staging-web", "tcp/80", false],
      ["outside", "staging-api", "udp/53", false],
      ["staging-web", "prod-web", "tcp/80", true],
      ["prod-web", "dev-web", "tcp/80", true],
    ],
  },
  {
    name: "policies add allows on top of DefaultDeny",
    policies: [policy("web-from-prod", { podSelector: app("web"), ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: "prod" } } }] }] }, "staging")],
    namespaces: [{ name: "prod", labels: { env: "prod" } }, { name: "staging", labels: { env: "staging" }, isolation: "DefaultDeny" }],
    flows: [
      ["prod-web", "staging-web", "tcp/80", true],
      ["prod-web", "staging-api", "tcp/80", false],
      ["dev-web", "staging-web", "tcp/80", false],
    ],
  },
];

describe.each(cases)("$name", (c) => {
  let set: PolicySet;
  beforeAll(() => { set = compileCase(c.policies, c.namespaces); });
  it.each(c.flows)("%s → %s %s: %s", (from, to, probe, allowed) => {
    expect(check(set, from, to, probe).allowed).toBe(allowed);
  });
});

describe("the seed policy (networking.k8s.io/v1)", () => {
  const set = compile(parseModelText(readFileSync(join(ROOT, "examples/models/kubernetes-seed.yaml"), "utf8")));
  const names = set.endpoints.map((e) => e.name);
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to): [string, string] => [from, to]));
  const dbAccepts = new Set(["myproject/client", "default/frontend"]);

  it.each(pairs)("%s → %s tcp/6379 and tcp/80", (from, to) => {
    const toDb = to === "default/db";
    expect(check(set, from, to, "tcp/6379").allowed).toBe(!toDb || dbAccepts.has(from));
    expect(check(set, from, to, "tcp/80").allowed).toBe(!toDb);
  });

  it("names the peer that allowed, and the policy that isolated", () => {
    const ingress = (r: ReachResult) => r.trail.find((d) => d.layer === "kubernetes" && d.direction === "ingress");
    expect(ingress(check(set, "myproject/client", "default/db", "tcp/6379"))).toMatchObject({ by: "rule", origin: "networkPolicies[0].spec.ingress[0].from[0]" });
    expect(ingress(check(set, "default/frontend", "default/db", "tcp/6379"))).toMatchObject({ by: "rule", origin: "networkPolicies[0].spec.ingress[0].from[1]" });
    const denied = ingress(check(set, "other/client", "default/db", "tcp/6379"));
    expect(denied).toMatchObject({ by: "default", verdict: "deny" });
    expect(denied?.origin).toContain("networkPolicies[0] (default/test-network-policy)");
    expect(ingress(check(set, "default/db", "default/frontend", "tcp/80"))).toMatchObject({ by: "ungoverned", verdict: "allow" });
  });
});

describe("the seed as written (extensions/v1beta1, namespace default DefaultDeny)", () => {
  const set = compile(parseModelText(readFileSync(join(ROOT, "examples/models/kubernetes-seed-v1beta1.yaml"), "utf8")));
  const names = set.endpoints.map((e) => e.name);
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to): [string, string] => [from, to]));
  const dbAccepts = new Set(["myproject/client", "default/frontend"]);
  const expected = (from: string, to: string, probe: string) => {
    if (to === "default/db") return probe === "tcp/6379" && dbAccepts.has(from);
    return !to.startsWith("default/");
  };

  it.each(pairs)("%s → %s tcp/6379 and tcp/80", (from, to) => {
    expect(check(set, from, to, "tcp/6379").allowed).toBe(expected(from, to, "tcp/6379"));
    expect(check(set, from, to, "tcp/80").allowed).toBe(expected(from, to, "tcp/80"));
  });

  it("explains a DefaultDeny by the namespace's isolation", () => {
    const d = check(set, "default/db", "default/other", "tcp/80").trail.find((t) => t.direction === "ingress");
    expect(d).toMatchObject({ layer: "kubernetes", verdict: "deny", by: "default" });
    expect(d?.origin).toContain("namespaces[0].isolation");
  });
});

describe("the kubernetes layer's shape", () => {
  it("exists only with networkPolicies or a DefaultDeny namespace", () => {
    expect(compile(parseModel(inventory)).layers.map((l) => l.name)).toEqual([]);
    const withDeny = compileCase([], [{ name: "dev", isolation: "DefaultDeny" }]);
    expect(kubernetesLayer(withDeny).ingress).toEqual({ "dev-web": expect.any(String) });
    expect(kubernetesLayer(withDeny).egress).toEqual({});
  });

  it("shares one program among pods under the same policies", () => {
    const set = compileCase([
      policy("prod-from-api", { podSelector: {}, ingress: [{ from: [{ podSelector: app("api") }] }] }),
      policy("db-also-from-web", { podSelector: db, ingress: [{ from: [{ podSelector: app("web") }] }] }),
    ]);
    const layer = kubernetesLayer(set);
    expect(Object.keys(layer.ingress).sort()).toEqual(["prod-api", "prod-db", "prod-web"]);
    expect(layer.ingress["prod-web"]).toBe(layer.ingress["prod-api"]);
    expect(layer.ingress["prod-db"]).not.toBe(layer.ingress["prod-web"]);
    expect(layer.egress).toEqual({});
    // The same selector in two policies is one set.
    const srcSets = (id: string) => set.programs[id].tiers[0].rules.map((r) => r.match.src?.[0].set);
    expect(srcSets(layer.ingress["prod-db"])[0]).toBe(srcSets(layer.ingress["prod-web"])[0]);
  });

  it("gives pods with different named ports different ingress programs", () => {
    const layer = kubernetesLayer(compileCase([policy("http", { podSelector: {}, ingress: [{ ports: [{ port: "http" }] }] })]));
    expect(layer.ingress["prod-web"]).not.toBe(layer.ingress["prod-api"]);
  });

  it("splits an egress named port into one rule per resolved number", () => {
    const set = compileCase([policy("db-out", {
      podSelector: db, policyTypes: ["Egress"],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: app("web") }], ports: [{ port: "http" }] }],
    })]);
    const rules = set.programs[kubernetesLayer(set).egress["prod-db"]].tiers[0].rules;
    expect(rules.map((r) => [r.match.protocol, r.match.dstPorts, r.origin])).toEqual([
      [6, [{ from: 8080, to: 8080 }], "networkPolicies[0].spec.egress[0].to[0]"],
      [6, [{ from: 8081, to: 8081 }], "networkPolicies[0].spec.egress[0].to[0]"],
    ]);
    const members = rules.map((r) => { const s = set.sets[r.match.dst?.[0].set ?? ""]; return s.kind === "endpoints" ? s.members : s.nets; });
    expect(members).toEqual([["prod-web"], ["staging-web"]]);
  });

  it("names a ports entry when the rule has no peers", () => {
    const set = compileCase([policy("db", { podSelector: db, ingress: [{ ports: [{ port: 1 }, { port: 2 }] }] })]);
    const d = check(set, "prod-api", "prod-db", "tcp/2").trail.find((t) => t.direction === "ingress");
    expect(d?.origin).toBe("networkPolicies[0].spec.ingress[0].ports[1]");
  });
});

describe("scale", () => {
  it("compiles 10,000 endpoints under 100 policies quickly", () => {
    const namespaces = Array.from({ length: 20 }, (_, i) => ({ name: `ns${i}`, labels: { team: `t${i % 5}` } }));
    const endpoints = Array.from({ length: 10_000 }, (_, i) => ({
      name: `pod${i}`, ips: [`10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`], namespace: `ns${i % 20}`,
      labels: { app: `a${i % 50}`, tier: `t${i % 3}` }, ports: [{ name: "http", port: 8000 + (i % 4) }],
    }));
    const networkPolicies = Array.from({ length: 100 }, (_, i) => policy(`p${i}`, {
      podSelector: { matchLabels: { app: `a${i % 50}` } },
      ingress: [{ from: [{ podSelector: { matchLabels: { tier: `t${i % 3}` } } }, { namespaceSelector: { matchLabels: { team: `t${i % 5}` } } }], ports: [{ port: "http" }, { port: 443 }] }],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: `a${(i + 1) % 50}` } } }], ports: [{ port: "http" }] }],
    }, `ns${i % 20}`));
    const model = parseModel({ endpoints, namespaces, networkPolicies });
    const start = process.hrtime.bigint();
    const set = compile(model);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    expect(Object.keys(kubernetesLayer(set).ingress).length).toBeGreaterThan(0);
    // ~0.2 s under ts-node on a quiet 2-core machine (bench/); jest and a loaded machine are slower.
    // A pairwise (policies × endpoints × endpoints) compiler would take minutes.
    expect(ms).toBeLessThan(5000);
  });
});
