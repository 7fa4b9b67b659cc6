/** Test support: small random policy sets (seeded) that exercise every IR field, family and action. */
import { PolicySetBuilder } from "../../provider/ir/builder";
import { Action, AddressMatch, Layer, LayerName, Match, PolicySet, PortRange, Program, Tier } from "../../provider/ir";
import { Probe } from "../../provider/analyze/probe";

export type Rng = () => number;

/** mulberry32: a tiny deterministic PRNG, so a failing seed can be replayed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const chance = (r: Rng, p: number) => r() < p;

export const ENDPOINTS = [
  { name: "a", ips: ["10.1.0.1", "fd00:1::1"], host: "h1" },
  { name: "b", ips: ["10.1.0.2"], host: "h1" },
  { name: "c", ips: ["fd00:1::3"], host: "h2" },
  { name: "d", ips: ["10.2.0.4", "fd00:2::4"], host: "h2" },
  { name: "e", ips: ["10.2.0.5"], host: "h3" },
  { name: "f", ips: ["10.1.0.6", "fd00:2::6"], host: "h1" },
];

export const PROBES: Probe[] = [
  { text: "tcp/21", protocol: 6, port: 21, srcPort: 40000 },
  { text: "tcp/22", protocol: 6, port: 22, srcPort: 21 },
  { text: "tcp/80", protocol: 6, port: 80, srcPort: 23 },
  { text: "udp/21", protocol: 17, port: 21, srcPort: 40000 },
  { text: "sctp/22", protocol: 132, port: 22, srcPort: 40000 },
  { text: "icmp/8", protocol: 1, icmpType: 8 },
  { text: "icmp/3/1", protocol: 1, icmpType: 3, icmpCode: 1 },
  { text: "icmp/0", protocol: 1, icmpType: 0 },
  { text: "gre", protocol: 47 },
];

function ports(r: Rng): PortRange[] {
  const n = 1 + Math.floor(r() * 2);
  return Array.from({ length: n }, () => {
    const from = pick(r, [20, 21, 22, 23, 80]);
    return { from, to: from + (chance(r, 0.3) ? 1 : 0) };
  });
}

export function randomMatch(r: Rng, sets: string[]): Match {
  const m: Match = {};
  const addr = (): AddressMatch[] => [{ set: pick(r, sets), ...(chance(r, 0.4) ? { negate: true } : {}) }];
  if (chance(r, 0.4)) m.src = addr();
  if (chance(r, 0.3)) m.dst = addr();
  if (chance(r, 0.4)) m.protocol = pick(r, [1, 6, 17, 58, 132, 47]);
  if (chance(r, 0.15)) m.notProtocol = pick(r, [1, 6, 17, 58]);
  if (chance(r, 0.25)) m.dstPorts = ports(r);
  if (chance(r, 0.2)) m.notDstPorts = ports(r);
  if (chance(r, 0.15)) m.srcPorts = ports(r);
  if (chance(r, 0.15)) m.notSrcPorts = ports(r);
  if (chance(r, 0.15)) m.icmpType = pick(r, [0, 3, 8, 128, 129]);
  if (chance(r, 0.15)) m.notIcmpType = pick(r, [0, 3, 8, 128]);
  if (chance(r, 0.1)) m.icmpCode = pick(r, [0, 1, 3]);
  if (chance(r, 0.1)) m.notIcmpCode = pick(r, [0, 1, 3]);
  if (chance(r, 0.15)) m.ipVersion = pick(r, [4, 6] as const);
  return m;
}

/** The builder with this test's sets: endpoint groups (some single-family, one empty) and nets. */
export function randomSets(b: PolicySetBuilder, r: Rng): string[] {
  const names = ENDPOINTS.map((e) => e.name);
  const sets = [
    b.endpointSet([]),
    b.endpointSet(["c"]),
    b.endpointSet(["b", "e"]),
    b.netSet("10.0.0.0/8", ["10.2.0.0/16"]),
    b.netSet("fd00::/16", ["fd00:2::/32"]),
    b.netSet("0.0.0.0/0"),
  ];
  for (let i = 0; i < 3; i++) sets.push(b.endpointSet(names.filter(() => chance(r, 0.5))));
  return sets;
}

function randomProgram(r: Rng, sets: string[]): Program {
  const tiers: Tier[] = Array.from({ length: Math.floor(r() * 3.5) }, (_, t) => ({
    name: `tier ${t}`,
    rules: Array.from({ length: Math.floor(r() * 5) }, (_, i) => ({
      match: randomMatch(r, sets),
      action: pick(r, ["allow", "allow", "deny", "pass", "log"] as Action[]),
      origin: `rule ${t}.${i}`,
    })),
    end: pick(r, ["allow", "deny", "next"] as const),
    endOrigin: `end ${t}`,
  }));
  return { tiers };
}

export function randomPolicySet(seed: number): PolicySet {
  const r = rng(seed);
  const b = new PolicySetBuilder();
  const sets = randomSets(b, r);
  const programs = Array.from({ length: 4 }, () => b.program(randomProgram(r, sets)));
  const layers: Layer[] = (["rancher", "calico"] as LayerName[]).slice(0, 1 + Math.floor(r() * 2)).map((name) => {
    const assign = () => Object.fromEntries(ENDPOINTS.filter(() => chance(r, 0.7)).map((e) => [e.name, pick(r, programs)]));
    return { name, ingress: assign(), egress: assign(), ungoverned: { ingress: "-", egress: "-" } };
  });
  return b.build({
    network: `random-${seed}`,
    endpoints: ENDPOINTS.map((e) => ({ ...e, ips: [...e.ips] })),
    hosts: [{ name: "h1", backend: "nftables" }, { name: "h2", backend: "iptables" }, { name: "h3", backend: "nftables" }],
  }, layers);
}
