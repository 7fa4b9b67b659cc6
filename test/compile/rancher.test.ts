import { compile } from "../../provider/compile";
import { parseModel } from "../../provider/model/model";
import { Analyzer } from "../../provider/analyze/reach";
import { compiledExample, expectedMatrix, matrixOf, probe } from "../support/models";

const stackOf = (n: string) => n.split("/")[0];
// The seeds' label table: what counts is the com.rancher.department value.
const department: Record<string, string | undefined> = {
  "stack_one/service_one": "qa",
  "stack_one/service_two": "engineering",
  "stack_two/service_one": "qa",
  "stack_three/service_one": "engineering",
};

describe("Rancher seed examples", () => {
  const cases: [string, (f: string, t: string) => boolean][] = [
    ["rancher-container-isolation.yaml", () => false],
    ["rancher-stack-isolation.yaml", (f, t) => stackOf(f) === stackOf(t)],
    ["rancher-label-isolation.yaml", (f, t) => department[f] !== undefined && department[f] === department[t]],
  ];
  test.each(cases)("%s gives the matrix the seed states", (file, allowed) => {
    const ps = compiledExample(file);
    const names = ps.endpoints.map((e) => e.name);
    for (const p of ["tcp/80", "udp/53", "icmp/8"]) {
      expect(matrixOf(ps, p)).toEqual(expectedMatrix(names, allowed));
    }
  });

  test("label isolation: engineering pairs talk, qa pairs talk, unlabelled talk to nobody", () => {
    const a = new Analyzer(compiledExample("rancher-label-isolation.yaml"));
    const ok = (f: string, t: string) => a.reach(f, t, probe("tcp/80")).allowed;
    expect(ok("stack_one/service_two", "stack_three/service_one")).toBe(true);
    expect(ok("stack_three/service_one", "stack_one/service_two")).toBe(true);
    expect(ok("stack_one/service_one", "stack_two/service_one")).toBe(true);
    expect(ok("stack_one/service_one", "stack_one/service_two")).toBe(false);
    expect(ok("stack_one/service_three", "stack_two/service_two")).toBe(false);
  });
});

const inventory = [
  { name: "a/web", ips: ["10.0.0.1"], stack: "a", service: "web", labels: { tier: "front", team: "x" }, links: ["a/db"] },
  { name: "a/db", ips: ["10.0.0.2"], stack: "a", service: "db", labels: { tier: "back", team: "x" } },
  { name: "a/web2", ips: ["10.0.0.3"], stack: "a", service: "web", labels: { tier: "front" } },
  { name: "b/web", ips: ["10.0.1.1", "fd00::1"], stack: "b", service: "web", labels: { tier: "front", team: "y" } },
  { name: "loose", ips: ["10.0.2.1"] },
];

describe("Rancher rule kinds", () => {
  const table: [string, object, [string, string, string, boolean][]][] = [
    ["default allow without rules", { defaultPolicyAction: "allow" }, [["a/web", "b/web", "tcp/1", true]]],
    ["omitted default is allow", { policy: [{ within: "stack", action: "deny" }] }, [["a/web", "a/db", "tcp/80", false], ["b/web", "a/db", "tcp/80", true]]],
    ["within service", { defaultPolicyAction: "deny", policy: [{ within: "service", action: "allow" }] },
      [["a/web", "a/web2", "tcp/80", true], ["a/web", "a/db", "tcp/80", false], ["b/web", "a/web", "tcp/80", false]]],
    ["within linked is directional", { defaultPolicyAction: "deny", policy: [{ within: "linked", action: "allow" }] },
      [["a/web", "a/db", "tcp/5432", true], ["a/db", "a/web", "tcp/80", false], ["a/web2", "a/db", "tcp/5432", false]]],
    ["first match wins: deny before allow", { defaultPolicyAction: "allow", policy: [{ within: "service", action: "deny" }, { within: "stack", action: "allow" }] },
      [["a/web", "a/web2", "tcp/80", false], ["a/db", "a/web", "tcp/80", true], ["b/web", "a/web", "tcp/80", true]]],
    ["between selector", { defaultPolicyAction: "deny", policy: [{ between: { selector: "tier = front" }, action: "allow" }] },
      [["a/web", "b/web", "tcp/80", true], ["a/db", "a/web", "tcp/80", false], ["a/web", "a/db", "tcp/80", false]]],
    ["groupBy skips endpoints without the label", { defaultPolicyAction: "deny", policy: [{ between: { groupBy: "team" }, action: "allow" }] },
      [["a/web", "a/db", "tcp/80", true], ["a/web2", "a/web", "tcp/80", false], ["loose", "a/web", "tcp/80", false]]],
    ["from/to selectors with ports", { defaultPolicyAction: "deny", policy: [{ from: { selector: "tier=front" }, to: { selector: "tier in (back)" }, ports: [5432, "53/udp", "8000-8010/tcp"], action: "allow" }] },
      [["a/web", "a/db", "tcp/5432", true], ["a/web", "a/db", "udp/53", true], ["a/web", "a/db", "tcp/8005", true], ["a/web", "a/db", "tcp/8011", false],
       ["a/web", "a/db", "udp/5432", false], ["a/db", "a/web", "tcp/5432", false], ["loose", "a/db", "tcp/5432", false]]],
    ["from only, any destination", { defaultPolicyAction: "deny", policy: [{ from: { selector: "!team" }, action: "allow" }] },
      [["loose", "a/web", "tcp/1", true], ["a/web2", "b/web", "tcp/1", true], ["a/web", "a/db", "tcp/1", false]]],
  ];
  test.each(table)("%s", (_name, network, flows) => {
    const a = new Analyzer(compile(parseModel({ endpoints: inventory, network })));
    for (const [from, to, p, allowed] of flows) {
      expect([from, to, p, a.reach(from, to, probe(p)).allowed]).toEqual([from, to, p, allowed]);
    }
  });

  test("the deciding rule is named by its path", () => {
    const a = new Analyzer(compile(parseModel({ endpoints: inventory, network: { defaultPolicyAction: "deny", policy: [{ within: "service", action: "deny" }, { within: "stack", action: "allow" }] } })));
    const r = a.reach("a/db", "a/web", probe("tcp/80"));
    expect(r.trail.find((d) => d.direction === "ingress")).toMatchObject({ layer: "rancher", origin: "network.policy[1]", by: "rule", verdict: "allow" });
    const d = a.reach("b/web", "a/web", probe("tcp/80"));
    expect(d.trail.find((x) => x.direction === "ingress")).toMatchObject({ origin: "network.defaultPolicyAction", by: "default", verdict: "deny" });
  });

  test("endpoints with the same stack share one program", () => {
    const ps = compile(parseModel({ endpoints: inventory, network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] } }));
    const layer = ps.layers[0];
    expect(layer.ingress["a/web"]).toBe(layer.ingress["a/db"]);
    expect(layer.ingress["a/web"]).not.toBe(layer.ingress["b/web"]);
    expect(Object.keys(ps.programs)).toHaveLength(3);
  });

  test("compilation is deterministic", () => {
    const net = { defaultPolicyAction: "deny", policy: [{ between: { groupBy: "team" }, action: "allow" }] };
    const one = JSON.stringify(compile(parseModel({ endpoints: inventory, network: net })));
    const two = JSON.stringify(compile(parseModel({ endpoints: inventory, network: net })));
    expect(one).toBe(two);
  });
});
