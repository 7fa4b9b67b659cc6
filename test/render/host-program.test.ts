/**
 * The renderers must behave exactly like the analysis. These tests run packets through the lowered
 * rules (branches, tier chains, dispatch) and compare with `Analyzer` on random policy sets that use
 * every IR field, negation, family, action and tier end.
 */
import { Analyzer } from "../../provider/analyze/reach";
import { probeForFamily } from "../../provider/analyze/probe";
import { PolicySetBuilder } from "../../provider/ir/builder";
import { PolicySet } from "../../provider/ir";
import { Address, parseAddress } from "../../provider/model/net";
import { HostPrograms, RenderError } from "../../provider/render/host-program";
import { branchesOf } from "../../provider/render/match-branches";
import { branchHolds, inAddressSet, Packet, programsInSet, runHost } from "./simulate";
import { ENDPOINTS, PROBES, randomMatch, randomPolicySet, randomSets, rng } from "./random-policy";

type Flow = Parameters<Analyzer["matches"]>[1];

function address(text: string): Address {
  const a = parseAddress(text);
  if (!a) throw new Error(text);
  return a;
}

/** Every flow between two distinct endpoints with a common family, with each probe. */
function* flows(ps: PolicySet): Generator<{ from: string; to: string; probe: (typeof PROBES)[number] }> {
  for (const a of ps.endpoints) for (const b of ps.endpoints) {
    if (a.name === b.name) continue;
    for (const probe of PROBES) yield { from: a.name, to: b.name, probe };
  }
}

describe("branchesOf matches exactly what Analyzer.matches accepts", () => {
  test.each(Array.from({ length: 40 }, (_, i) => i + 1))("random matches, seed %i", (seed) => {
    const r = rng(seed);
    const b = new PolicySetBuilder();
    const sets = randomSets(b, r);
    const ps = b.build({ network: "n", endpoints: ENDPOINTS, hosts: [] }, []);
    const analyzer = new Analyzer(ps);
    const facts = (id: string) => ({
      id,
      has: { 4: netHas(ps, id, 4) || endpointHas(ps, id, 4), 6: netHas(ps, id, 6) || endpointHas(ps, id, 6) },
    });
    for (let i = 0; i < 50; i++) {
      const m = randomMatch(r, sets);
      const branches = branchesOf(m, facts);
      for (const f of flows(ps)) {
        const result = analyzer.reach(f.from, f.to, f.probe);
        if (result.family === undefined || result.srcIp === undefined || result.dstIp === undefined) continue;
        const probe = probeForFamily(f.probe, result.family);
        const flow: Flow = { src: address(result.srcIp), dst: address(result.dstIp), srcName: f.from, dstName: f.to, probe };
        const packet: Packet = { family: result.family, src: flow.src, dst: flow.dst, protocol: probe.protocol, srcPort: probe.srcPort, dstPort: probe.port, icmpType: probe.icmpType, icmpCode: probe.icmpCode };
        const hits = branches.filter((br) => branchHolds(br, packet, (set, addr) => inAddressSet(ps.sets[set], ps, addr))).length;
        const expected = analyzer.matches(m, flow);
        if ((hits > 0) !== expected || hits > 1) {
          throw new Error(`seed ${seed}: ${JSON.stringify(m)} on ${f.from}→${f.to} ${probe.text}: analysis ${expected}, branches hit ${hits}\n${JSON.stringify(branches)}`);
        }
      }
    }
  });
});

function netHas(ps: PolicySet, id: string, family: 4 | 6): boolean {
  const set = ps.sets[id];
  return set.kind === "nets" && set.nets.some((n) => n.includes(":") === (family === 6));
}

function endpointHas(ps: PolicySet, id: string, family: 4 | 6): boolean {
  const set = ps.sets[id];
  return set.kind === "endpoints" && set.members.some((m) => (ps.endpoints.find((e) => e.name === m)?.ips ?? []).some((ip) => ip.includes(":") === (family === 6)));
}

describe("host programs behave like Analyzer.reach on every flow", () => {
  test.each(Array.from({ length: 60 }, (_, i) => i + 1))("random policy set, seed %i", (seed) => {
    const ps = randomPolicySet(seed);
    const analyzer = new Analyzer(ps);
    const hostPrograms = new HostPrograms(ps);
    const inSet = programsInSet(hostPrograms, ps);
    const programs = new Map(ps.hosts.map((h) => [h.name, hostPrograms.host(h.name)]));
    const hostOf = new Map(ps.endpoints.map((e) => [e.name, e.host ?? ""]));
    for (const f of flows(ps)) {
      const result = analyzer.reach(f.from, f.to, f.probe);
      if (result.family === undefined || result.srcIp === undefined || result.dstIp === undefined) continue;
      const probe = probeForFamily(f.probe, result.family);
      const packet: Packet = { family: result.family, src: address(result.srcIp), dst: address(result.dstIp), protocol: probe.protocol, srcPort: probe.srcPort, dstPort: probe.port, icmpType: probe.icmpType, icmpCode: probe.icmpCode };
      const logs: string[] = [];
      const path = [...new Set([hostOf.get(f.from), hostOf.get(f.to)])];
      const allowed = path.every((h) => {
        const program = programs.get(h ?? "");
        if (!program) throw new Error(`no host ${h}`);
        return runHost(program, packet, inSet, logs);
      });
      if (allowed !== result.allowed) {
        throw new Error(`seed ${seed}: ${f.from}→${f.to} ${probe.text}: analysis ${result.allowed}, rendered ${allowed}\n${JSON.stringify(result.trail)}`);
      }
      if (allowed) expect(logs.length).toBe(result.trail.reduce((n, d) => n + d.logged.length, 0));
    }
  });
});

describe("host selection", () => {
  const ps = randomPolicySet(7);
  const hostPrograms = new HostPrograms(ps);

  test("dispatch holds only the host's own endpoints' addresses", () => {
    const own = new Set(ps.endpoints.filter((e) => e.host === "h2").flatMap((e) => e.ips.map((ip) => address(ip).value)));
    for (const d of hostPrograms.host("h2").dispatch) for (const e of d.entries) expect(own.has(address(e.address).value)).toBe(true);
  });

  test("an unknown host is a RenderError naming the known ones", () => {
    expect(() => hostPrograms.host("nope")).toThrow(RenderError);
    expect(() => hostPrograms.host("nope")).toThrow(/known hosts: h1, h2, h3/);
  });

  test("a program with no tiers dispatches straight to drop", () => {
    const b = new PolicySetBuilder();
    const empty = b.program({ tiers: [] });
    const set = b.build({ network: "n", endpoints: [{ name: "x", ips: ["10.0.0.1"], host: "h" }], hosts: [{ name: "h", backend: "nftables" }] },
      [{ name: "calico", ingress: { x: empty }, egress: {}, ungoverned: { ingress: "", egress: "" } }]);
    expect(new HostPrograms(set).host("h").dispatch).toEqual([{ layer: "calico", direction: "ingress", family: 4, entries: [{ address: "10.0.0.1", target: { kind: "drop" }, endpoints: ["x"] }] }]);
  });

  test("a reference to an undefined set or program is a RenderError", () => {
    const b = new PolicySetBuilder();
    const p = b.program({ tiers: [{ name: "t", rules: [{ match: { src: [{ set: "s_missing" }] }, action: "allow", origin: "o" }], end: "deny", endOrigin: "e" }] });
    const base = { network: "n", endpoints: [{ name: "x", ips: ["10.0.0.1"], host: "h" }], hosts: [{ name: "h", backend: "nftables" as const }] };
    const layer = (id: string) => [{ name: "calico" as const, ingress: { x: id }, egress: {}, ungoverned: { ingress: "", egress: "" } }];
    expect(() => new HostPrograms(b.build(base, layer(p))).host("h")).toThrow(/set "s_missing"/);
    expect(() => new HostPrograms(b.build(base, layer("p_nope"))).host("h")).toThrow(/program "p_nope"/);
  });
});
