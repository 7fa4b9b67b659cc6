import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseProbe, Probe } from "../../provider/analyze/probe";
import { reach, ReachResult } from "../../provider/analyze/reach";
import { compile } from "../../provider/compile/index";
import { PolicySet } from "../../provider/ir";
import { parseModel, parseModelText } from "../../provider/model/model";

const FIXTURES = join(__dirname, "../fixtures/calico");
const EXAMPLE = join(__dirname, "../../examples/models/calico-web-app.yaml");

/** [from, to, probe, allowed, source port?] */
type Flow = [string, string, string, boolean, number?];

function probe(text: string, srcPort?: number): Probe {
  const p = parseProbe(text);
  if (typeof p === "string") throw new Error(p);
  return srcPort === undefined ? p : { ...p, srcPort };
}

function check(ps: PolicySet, [from, to, p, allowed, srcPort]: Flow): ReachResult {
  const r = reach(ps, from, to, probe(p, srcPort));
  const why = r.trail.map((d) => `${d.direction} ${d.endpoint}: ${d.verdict} by ${d.origin}`).join("; ");
  expect(`${from} → ${to} ${p}${srcPort ? ` from port ${srcPort}` : ""}: ${r.allowed ? "allowed" : "denied"} (${why})`)
    .toMatch(new RegExp(`: ${allowed ? "allowed" : "denied"} \\(`));
  return r;
}

// ---------------------------------------------------------------------------------------------
// The seed's WEB/APP worked example, step by step.

const example = parseModelText(readFileSync(EXAMPLE, "utf8"), "calico-web-app.yaml");

interface Step { step: string; profiles: (Record<string, unknown> | string)[] }
const steps = parseYaml(readFileSync(join(FIXTURES, "web-app-steps.yaml"), "utf8")) as Step[];

function atStep(s: Step): PolicySet {
  const profiles = s.profiles.map((p) => (typeof p === "string" ? JSON.parse(readFileSync(join(FIXTURES, p), "utf8")) as unknown : p));
  const ids = new Set(profiles.map((p) => (p as { id: string }).id));
  const endpoints = (example.endpoints ?? []).map((e) => ({ ...e, profiles: (e.profiles ?? []).filter((id) => ids.has(id)) }));
  return compile(parseModel({ hosts: example.hosts, endpoints, profiles }));
}

const FINAL: Flow[] = [
  ["client-1", "web-1", "tcp/80", true], ["app-1", "web-2", "tcp/443", true], ["web-2", "web-1", "tcp/80", true],
  ["client-1", "web-1", "icmp/8", true], ["app-2", "web-1", "icmp/8", true],
  ["client-1", "web-1", "tcp/22", false], ["web-2", "web-1", "tcp/22", false], ["client-1", "web-1", "icmp/0", false],
  ["client-1", "web-1", "udp/80", false],
  ["web-1", "app-1", "tcp/7890", true], ["web-2", "app-1", "tcp/7890", true], ["web-1", "app-2", "tcp/7890", true],
  ["app-1", "app-2", "tcp/7890", false], ["client-1", "app-1", "tcp/7890", false],
  ["web-1", "app-1", "tcp/7891", false], ["web-1", "app-1", "udp/7890", false], ["web-1", "app-1", "tcp/80", false],
  ["client-1", "app-1", "icmp/8", true], ["app-2", "app-1", "icmp/8", true],
  // Outbound is open: anything not filtered on ingress goes through.
  ["web-1", "client-1", "tcp/5000", true], ["app-1", "client-1", "udp/53", true], ["app-1", "client-1", "icmp/8", true],
];

const STEP_FLOWS: Flow[][] = [
  // Fresh WEB: endpoints of the same profile talk freely; nobody else gets in.
  [["web-1", "web-2", "tcp/22", true], ["web-2", "web-1", "udp/53", true], ["web-1", "web-2", "icmp/8", true],
    ["app-1", "web-1", "tcp/80", false], ["client-1", "web-1", "tcp/80", false], ["web-1", "app-1", "tcp/22", true]],
  // Default inbound rule removed: nothing gets in, everything goes out.
  [["web-2", "web-1", "tcp/22", false], ["client-1", "web-1", "tcp/80", false], ["web-1", "web-2", "icmp/8", false],
    ["web-1", "client-1", "tcp/80", true]],
  // Public web server.
  [["client-1", "web-1", "tcp/80", true], ["client-1", "web-1", "tcp/443", true], ["client-1", "web-1", "icmp/8", true],
    ["client-1", "web-1", "icmp/0", false], ["client-1", "web-1", "tcp/22", false], ["client-1", "web-1", "udp/80", false],
    ["web-2", "web-1", "tcp/22", false]],
  // Fresh APP: APP endpoints talk among themselves only.
  [["app-1", "app-2", "tcp/7890", true], ["app-1", "app-2", "tcp/22", true], ["web-1", "app-1", "tcp/7890", false],
    ["client-1", "app-1", "tcp/7890", false], ["app-1", "web-1", "tcp/80", true], ["app-1", "web-1", "tcp/22", false]],
  // APP rules imported, but nobody carries APP_7890 yet.
  [["web-1", "app-1", "tcp/7890", false], ["app-1", "app-2", "tcp/7890", false], ["client-1", "app-1", "icmp/8", true],
    ["app-1", "app-2", "tcp/22", false], ["client-1", "web-1", "tcp/443", true]],
  FINAL,
];

describe("seed 003: the WEB/APP worked example", () => {
  it("has one fixture step per calicoctl step", () => expect(steps).toHaveLength(STEP_FLOWS.length));

  describe.each(steps.map((s, i) => [s.step, i] as const))("after %s", (_name, i) => {
    const ps = atStep(steps[i]);
    it.each(STEP_FLOWS[i])("%s → %s %s allowed=%s", (...flow) => { check(ps, flow as Flow); });
  });

  describe("examples/models/calico-web-app.yaml", () => {
    const ps = compile(example);
    it.each(FINAL)("%s → %s %s allowed=%s", (...flow) => { check(ps, flow as Flow); });

    it("decides every final-step flow exactly as the last fixture step", () => {
      const last = atStep(steps[steps.length - 1]);
      for (const f of FINAL) {
        // Origins differ where the example writes out a rule the steps leave to calicoctl's default.
        const decided = (x: PolicySet) => reach(x, f[0], f[1], probe(f[2])).trail.map((d) => [d.direction, d.verdict, d.tier, d.by]);
        expect(decided(ps)).toEqual(decided(last));
      }
    });

    it("names the deciding rule and tier", () => {
      const r = check(ps, ["web-1", "app-1", "tcp/7890", true]);
      expect(r.trail).toEqual([
        { layer: "calico", direction: "egress", endpoint: "web-1", verdict: "allow", tier: "profile WEB", origin: "profiles[0].outbound_rules[0]", by: "rule", logged: [] },
        { layer: "calico", direction: "ingress", endpoint: "app-1", verdict: "allow", tier: "profile APP", origin: "profiles[1].inbound_rules[0]", by: "rule", logged: [] },
      ]);
      const denied = check(ps, ["app-1", "app-2", "tcp/7890", false]);
      expect(denied.trail[1]).toMatchObject({ verdict: "deny", tier: "profile APP", origin: "no profile allows inbound (profiles: APP)", by: "default" });
      expect(check(ps, ["web-1", "client-1", "tcp/80", true]).trail[1]).toMatchObject({ endpoint: "client-1", by: "ungoverned" });
    });

    it("shares programs between endpoints with the same profiles and computes the tag set once", () => {
      const layer = ps.layers.find((l) => l.name === "calico");
      expect(layer).toBeDefined();
      if (!layer) return;
      expect(layer.ingress["web-1"]).toBe(layer.ingress["web-2"]);
      expect(layer.ingress["app-1"]).toBe(layer.ingress["app-2"]);
      expect(layer.ingress["web-1"]).not.toBe(layer.ingress["app-1"]);
      expect(layer.egress["web-1"]).toBe(layer.egress["web-2"]);
      expect(layer.ingress["client-1"]).toBeUndefined();
      expect(layer.egress["client-1"]).toBeUndefined();
      const app = ps.programs[layer.ingress["app-1"]];
      expect(app.tiers.map((t) => [t.name, t.end])).toEqual([["profile APP", "deny"]]);
      const src = app.tiers[0].rules[0].match.src ?? [];
      expect(src).toHaveLength(1);
      expect(ps.sets[src[0].set]).toEqual({ kind: "endpoints", members: ["web-1", "web-2"] });
      expect(app.tiers[0].rules[0].match).toMatchObject({ protocol: 6, dstPorts: [{ from: 7890, to: 7890 }] });
    });
  });

  it("origins of defaulted rules say they are calicoctl's defaults", () => {
    const r = check(atStep(steps[0]), ["web-1", "web-2", "tcp/22", true]);
    expect(r.trail.map((d) => d.origin)).toEqual([
      "profiles[0].outbound_rules (omitted; calicoctl's default: allow)",
      "profiles[0].inbound_rules (omitted; calicoctl's default: allow from tag WEB)",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule fields, actions, policies: a small inventory where `dst` is the endpoint under test.
//   src-a 10.0.0.1 role=web  profile SRC (tags SRC, red)
//   src-b 10.0.1.2 role=db   profile OTHER
//   dst   10.0.0.9 role=api  profiles T…   (T's inbound rules vary)
//   plain 10.0.0.5 role=api  no profiles
//   x6 fd00::1 (SRC), y6 fd00::9 (T)

type Doc = Record<string, unknown>;
interface Scenario { name: string; t?: unknown[]; profiles?: Doc[]; dstProfiles?: string[]; policies?: Doc[]; src?: Doc; flows: Flow[] }

function scenarioModel(s: Scenario): PolicySet {
  const dstProfiles = s.dstProfiles ?? ["T"];
  return compile(parseModel({
    endpoints: [
      { name: "src-a", ips: ["10.0.0.1"], labels: { role: "web" }, profiles: ["SRC"] },
      { name: "src-b", ips: ["10.0.1.2"], labels: { role: "db" }, profiles: ["OTHER"] },
      { name: "dst", ips: ["10.0.0.9"], labels: { role: "api" }, profiles: dstProfiles },
      { name: "plain", ips: ["10.0.0.5"], labels: { role: "api" } },
      { name: "x6", ips: ["fd00::1"], profiles: ["SRC"] },
      { name: "y6", ips: ["fd00::9"], profiles: dstProfiles },
    ],
    profiles: [
      { id: "SRC", tags: ["SRC", "red"], ...(s.src ?? {}) },
      { id: "OTHER" },
      { id: "T", inbound_rules: s.t ?? [{ action: "allow" }] },
      ...(s.profiles ?? []),
    ],
    ...(s.policies ? { policies: s.policies } : {}),
  }));
}

const allow = (extra: Doc = {}) => [{ action: "allow", ...extra }];

const SCENARIOS: Scenario[] = [
  { name: "protocol by name", t: allow({ protocol: "udp" }), flows: [["src-a", "dst", "udp/53", true], ["src-a", "dst", "tcp/53", false]] },
  { name: "protocol by number", t: allow({ protocol: 17 }), flows: [["src-a", "dst", "udp/53", true], ["src-a", "dst", "tcp/53", false]] },
  { name: "!protocol", t: allow({ "!protocol": "tcp" }), flows: [["src-a", "dst", "udp/53", true], ["src-a", "dst", "tcp/80", false]] },
  { name: "src_tag", t: allow({ src_tag: "red" }), flows: [["src-a", "dst", "tcp/80", true], ["src-b", "dst", "tcp/80", false], ["plain", "dst", "tcp/80", false]] },
  { name: "!src_tag", t: allow({ "!src_tag": "red" }), flows: [["src-a", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true], ["plain", "dst", "tcp/80", true]] },
  { name: "src_tag of a tag nobody carries", t: allow({ src_tag: "blue" }), flows: [["src-a", "dst", "tcp/80", false]] },
  { name: "src_net", t: allow({ src_net: "10.0.0.0/24" }), flows: [["src-a", "dst", "tcp/80", true], ["src-b", "dst", "tcp/80", false]] },
  { name: "!src_net", t: allow({ "!src_net": "10.0.0.0/24" }), flows: [["src-a", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true]] },
  { name: "src_selector", t: allow({ src_selector: "role == 'web'" }), flows: [["src-a", "dst", "tcp/80", true], ["src-b", "dst", "tcp/80", false]] },
  { name: "!src_selector", t: allow({ "!src_selector": "role in {'web', 'api'}" }), flows: [["src-a", "dst", "tcp/80", false], ["plain", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true]] },
  { name: "src_ports", t: allow({ protocol: "tcp", src_ports: [1000, "2000:2010"] }), flows: [["src-a", "dst", "tcp/80", true, 1000], ["src-a", "dst", "tcp/80", true, 2010], ["src-a", "dst", "tcp/80", false, 2011], ["src-a", "dst", "tcp/80", false]] },
  { name: "!src_ports", t: allow({ protocol: "tcp", "!src_ports": ["1000:1999"] }), flows: [["src-a", "dst", "tcp/80", false, 1500], ["src-a", "dst", "tcp/80", true, 2000], ["src-a", "dst", "tcp/80", true]] },
  { name: "dst_tag (the local endpoint's own tag)", t: allow({ dst_tag: "T" }), flows: [["src-a", "dst", "tcp/80", true]] },
  { name: "dst_tag it does not carry", t: allow({ dst_tag: "red" }), flows: [["src-a", "dst", "tcp/80", false]] },
  { name: "!dst_tag", t: allow({ "!dst_tag": "T" }), flows: [["src-a", "dst", "tcp/80", false]] },
  { name: "dst_net", t: allow({ dst_net: "10.0.0.9/32" }), flows: [["src-a", "dst", "tcp/80", true], ["x6", "y6", "tcp/80", false]] },
  { name: "!dst_net", t: allow({ "!dst_net": "10.0.0.0/8" }), flows: [["src-a", "dst", "tcp/80", false], ["x6", "y6", "tcp/80", true]] },
  { name: "dst_selector", t: allow({ dst_selector: "has(role) && role == 'api'" }), flows: [["src-a", "dst", "tcp/80", true], ["x6", "y6", "tcp/80", false]] },
  { name: "!dst_selector", t: allow({ "!dst_selector": "role == 'api'" }), flows: [["src-a", "dst", "tcp/80", false], ["x6", "y6", "tcp/80", true]] },
  { name: "dst_ports with a range", t: allow({ protocol: "tcp", dst_ports: [443, "8000:8080"] }), flows: [["src-a", "dst", "tcp/443", true], ["src-a", "dst", "tcp/8000", true], ["src-a", "dst", "tcp/8080", true], ["src-a", "dst", "tcp/7999", false], ["src-a", "dst", "tcp/8081", false], ["src-a", "dst", "udp/443", false]] },
  { name: "!dst_ports", t: allow({ protocol: "tcp", "!dst_ports": [22, "8000:8080"] }), flows: [["src-a", "dst", "tcp/80", true], ["src-a", "dst", "tcp/22", false], ["src-a", "dst", "tcp/8050", false], ["src-a", "dst", "udp/80", false]] },
  { name: "icmp_type and icmp_code", t: allow({ protocol: "icmp", icmp_type: 3, icmp_code: 4 }), flows: [["src-a", "dst", "icmp/3/4", true], ["src-a", "dst", "icmp/3/1", false], ["src-a", "dst", "icmp/8", false]] },
  { name: "!icmp_type", t: allow({ protocol: "icmp", "!icmp_type": 8 }), flows: [["src-a", "dst", "icmp/0", true], ["src-a", "dst", "icmp/8", false], ["src-a", "dst", "tcp/80", false]] },
  { name: "!icmp_code", t: allow({ protocol: "icmp", icmp_type: 3, "!icmp_code": 4 }), flows: [["src-a", "dst", "icmp/3/1", true], ["src-a", "dst", "icmp/3/4", false]] },
  { name: "icmpv6 for IPv6 flows", t: allow({ protocol: "icmpv6", icmp_type: 128 }), flows: [["x6", "y6", "icmp/8", true], ["src-a", "dst", "icmp/8", false]] },
  { name: "ip_version 6", t: allow({ ip_version: 6 }), flows: [["x6", "y6", "tcp/80", true], ["src-a", "dst", "tcp/80", false]] },
  { name: "ip_version 4", t: allow({ ip_version: 4 }), flows: [["x6", "y6", "tcp/80", false], ["src-a", "dst", "tcp/80", true]] },
  { name: "deny before allow", t: [{ action: "deny", src_tag: "red" }, { action: "allow" }], flows: [["src-a", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true]] },
  { name: "allow before deny", t: [{ action: "allow" }, { action: "deny", src_tag: "red" }], flows: [["src-a", "dst", "tcp/80", true]] },
  { name: "explicit empty inbound rules deny everything", t: [], flows: [["src-a", "dst", "tcp/80", false], ["dst", "plain", "tcp/80", true]] },
  { name: "outbound rules filter the source", t: allow(), src: { outbound_rules: allow({ dst_selector: "role == 'api'" }) }, flows: [["src-a", "dst", "tcp/80", true], ["src-a", "plain", "tcp/80", true], ["src-a", "src-b", "tcp/80", false]] },
  { name: "multiple profiles: the first without a match falls through to the second", dstProfiles: ["T", "U"], t: [{ action: "deny", protocol: "udp" }], profiles: [{ id: "U", inbound_rules: allow({ src_tag: "red" }) }], flows: [["src-a", "dst", "tcp/80", true], ["src-b", "dst", "tcp/80", false], ["src-a", "dst", "udp/53", false]] },
  { name: "next-tier in a profile goes on to the next profile", dstProfiles: ["T", "U"], t: [{ action: "next-tier", src_tag: "red" }, { action: "allow" }], profiles: [{ id: "U", inbound_rules: [{ action: "deny" }] }], flows: [["src-a", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true]] },
  { name: "pass in the last profile denies", t: [{ action: "pass" }, { action: "allow" }], flows: [["src-a", "dst", "tcp/80", false]] },
  // Policies. T allows only `red` sources unless a scenario says otherwise.
  { name: "a policy's next-tier hands over to the profiles", t: allow({ src_tag: "red" }), policies: [{ name: "p", selector: "role == 'api'", inbound_rules: [{ action: "next-tier" }] }], flows: [["src-a", "dst", "tcp/80", true], ["src-b", "dst", "tcp/80", false]] },
  { name: "a policy with no matching rule denies; profiles are not consulted", t: allow(), policies: [{ name: "p", selector: "role == 'api'", inbound_rules: allow({ protocol: "tcp", dst_ports: [80] }) }], flows: [["src-b", "dst", "tcp/80", true], ["src-a", "dst", "tcp/22", false]] },
  { name: "a policy's allow wins over the profiles", t: [], policies: [{ name: "p", selector: "role == 'api'", ingress: allow({ src_selector: "role == 'db'" }) }], flows: [["src-b", "dst", "tcp/80", true], ["src-a", "dst", "tcp/80", false]] },
  { name: "a policy whose selector does not match does not apply", t: allow(), policies: [{ name: "p", selector: "role == 'nope'", inbound_rules: [] }], flows: [["src-a", "dst", "tcp/80", true]] },
  { name: "a policy without inbound rules does not apply to ingress; outbound_rules: [] denies egress", t: allow(), policies: [{ name: "p", selector: "role == 'api'", outbound_rules: [] }], flows: [["src-a", "dst", "tcp/80", true], ["dst", "plain", "tcp/80", false], ["plain", "dst", "tcp/80", false], ["src-b", "plain", "tcp/80", true]] },
  { name: "a policy with no rule list applies to nothing", t: allow(), policies: [{ name: "p", selector: "all()" }], flows: [["src-b", "dst", "tcp/80", true], ["src-a", "plain", "tcp/80", true]] },
  { name: "a policy governs an endpoint without profiles", policies: [{ name: "p", selector: "role == 'api'", inbound_rules: allow({ src_tag: "red" }) }], flows: [["src-a", "plain", "tcp/80", true], ["src-b", "plain", "tcp/80", false], ["plain", "dst", "tcp/80", false]] },
  { name: "next-tier without profiles denies", policies: [{ name: "p", selector: "role == 'api'", inbound_rules: [{ action: "next-tier" }] }], flows: [["src-a", "plain", "tcp/80", false]] },
  { name: "outbound policy", policies: [{ name: "p", selector: "role == 'web'", egress: [{ action: "deny", dst_net: "10.0.1.0/24" }, { action: "allow" }] }], flows: [["src-a", "src-b", "tcp/80", false], ["src-a", "dst", "tcp/80", true]] },
  { name: "policies by order, not name", policies: [{ name: "a-deny", order: 2, selector: "all()", inbound_rules: [{ action: "deny" }] }, { name: "b-allow", order: 1, selector: "all()", inbound_rules: allow() }], flows: [["src-b", "dst", "tcp/80", true]] },
  { name: "equal orders by name", policies: [{ name: "b-allow", order: 1, selector: "all()", inbound_rules: allow() }, { name: "a-deny", order: 1, selector: "all()", inbound_rules: [{ action: "deny" }] }], flows: [["src-b", "dst", "tcp/80", false]] },
  { name: "policies without an order come last", policies: [{ name: "a-deny", selector: "all()", inbound_rules: [{ action: "deny" }] }, { name: "z-allow", order: 1000, selector: "all()", inbound_rules: allow() }], flows: [["src-b", "dst", "tcp/80", true]] },
  { name: "a policy without a match falls through to the next policy", policies: [{ name: "a", order: 1, selector: "all()", inbound_rules: [{ action: "deny", protocol: "udp" }] }, { name: "b", order: 2, selector: "all()", inbound_rules: allow() }], flows: [["src-b", "dst", "tcp/80", true], ["src-b", "dst", "udp/80", false]] },
  { name: "pass in an earlier policy skips the later policies", t: [], policies: [{ name: "a", order: 1, selector: "all()", inbound_rules: [{ action: "pass", src_tag: "red" }] }, { name: "b", order: 2, selector: "all()", inbound_rules: allow() }], flows: [["src-a", "dst", "tcp/80", false], ["src-b", "dst", "tcp/80", true]] },
];

describe("calico rules, actions and policies", () => {
  describe.each(SCENARIOS.map((s) => [s.name, s] as const))("%s", (_name, s) => {
    const ps = scenarioModel(s);
    const label = ([from, to, p, allowed, srcPort]: Flow) => `${from} → ${to} ${p}${srcPort === undefined ? "" : ` from port ${srcPort}`}: ${allowed ? "allowed" : "denied"}`;
    it.each(s.flows.map((f) => [label(f), f] as const))("%s", (_label, flow) => { check(ps, flow); });
  });

  it("log is non-terminal: the next rule decides and the trail records it", () => {
    const ps = scenarioModel({ name: "log", t: [{ action: "log", protocol: "tcp" }, { action: "deny", protocol: "tcp", dst_ports: [22] }, { action: "allow" }], flows: [] });
    expect(check(ps, ["src-a", "dst", "tcp/22", false]).trail[1]).toMatchObject({ verdict: "deny", origin: "profiles[2].inbound_rules[1]", logged: ["profiles[2].inbound_rules[0]"] });
    expect(check(ps, ["src-a", "dst", "tcp/80", true]).trail[1]).toMatchObject({ origin: "profiles[2].inbound_rules[2]", logged: ["profiles[2].inbound_rules[0]"] });
    expect(check(ps, ["src-a", "dst", "udp/53", true]).trail[1]).toMatchObject({ logged: [] });
  });

  it("an endpoint with no profiles and no applying policy is not governed", () => {
    const ps = scenarioModel({ name: "plain", t: [], flows: [] });
    expect(check(ps, ["src-a", "plain", "tcp/80", true]).trail[1])
      .toMatchObject({ layer: "calico", direction: "ingress", endpoint: "plain", by: "ungoverned", verdict: "allow" });
    // Its egress is not filtered either; the destination's own profile still is.
    expect(check(ps, ["plain", "src-b", "tcp/80", false]).trail.map((d) => d.by)).toEqual(["ungoverned", "default"]);
    const layer = ps.layers.find((l) => l.name === "calico");
    expect(layer && Object.keys(layer.ingress).sort()).toEqual(["dst", "src-a", "src-b", "x6", "y6"]);
  });

  it("builds a policy tier, then one tier per profile", () => {
    const ps = scenarioModel({ name: "shape", dstProfiles: ["T", "U"], profiles: [{ id: "U" }], flows: [],
      policies: [{ name: "z", selector: "role == 'api'", inbound_rules: [{ action: "pass" }] }, { name: "a", order: 5, selector: "all()", inbound_rules: [] }] });
    const layer = ps.layers.find((l) => l.name === "calico");
    if (!layer) throw new Error("no calico layer");
    const tiers = ps.programs[layer.ingress.dst].tiers;
    expect(tiers.map((t) => [t.name, t.end, t.endOrigin])).toEqual([
      ["calico policies", "deny", "no inbound policy rule allows (policies: a, z)"],
      ["profile T", "next", "profile T: no inbound rule decided; next profile"],
      ["profile U", "deny", "no profile allows inbound (profiles: T, U)"],
    ]);
    expect(tiers[0].rules).toEqual([{ match: {}, action: "pass", origin: "policies[0].inbound_rules[0]" }]);
    // Policy `a` selects everything but `z` only role=api: src-a gets the policy tier with `a` alone.
    expect(ps.programs[layer.ingress["src-a"]].tiers[0].endOrigin).toBe("no inbound policy rule allows (policies: a)");
    expect(ps.programs[layer.egress.dst].tiers.map((t) => t.name)).toEqual(["profile T", "profile U"]);
  });

  it("adds no layer when there are no profiles and no policies", () => {
    const ps = compile(parseModel({ endpoints: [{ name: "a", ips: ["10.0.0.1"], profiles: [] }] }));
    expect(ps.layers.map((l) => l.name)).not.toContain("calico");
  });

  it("compiles 10,000 endpoints into a handful of shared programs", () => {
    const endpoints = Array.from({ length: 10_000 }, (_, i) => ({
      name: `ep-${i}`, ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
      labels: { tier: ["web", "app", "db"][i % 3] }, profiles: i % 2 === 0 ? ["WEB"] : ["APP", "WEB"],
    }));
    const started = Date.now();
    const ps = compile(parseModel({
      endpoints,
      profiles: [{ id: "WEB", tags: ["WEB", "APP_7890"] }, { id: "APP", inbound_rules: allow({ protocol: "tcp", dst_ports: [7890], src_tag: "APP_7890" }) }],
      policies: [{ name: "db", selector: "tier == 'db'", inbound_rules: [{ action: "deny", src_selector: "tier == 'web'" }, { action: "pass" }] }],
    }));
    expect(Date.now() - started).toBeLessThan(20_000);
    // 2 profile lists × (db policy or not) for ingress, 2 for egress.
    expect(Object.keys(ps.programs)).toHaveLength(6);
    expect(check(ps, ["ep-0", "ep-1", "tcp/7890", true]).trail[1]).toMatchObject({ tier: "profile APP" });
    check(ps, ["ep-0", "ep-5", "tcp/80", false]);
  });
});
