/**
 * Test support: small random models (Rancher stacks and label groups, Calico profiles with tags)
 * and random small changes to them, the kind that happen between two applies: an endpoint joins,
 * leaves, moves stack or group, changes address or profiles; a profile's port changes; a rule is
 * added. Seeded, so a failing case replays.
 */
import { rng, Rng } from "../render/random-policy";

export interface ModelEndpoint {
  name: string;
  ips: string[];
  host: string;
  stack?: string;
  labels?: Record<string, string>;
  profiles?: string[];
}

export interface RandomModel {
  endpoints: ModelEndpoint[];
  webPorts: number[];
  appRules: number;
  next: number;
}

const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const STACKS = ["s1", "s2", "s3"];
const DEPTS = ["qa", "eng"];
const HOSTS = ["h1", "h2"];

function endpoint(r: Rng, n: number): ModelEndpoint {
  const ips = [`10.50.${n >> 8}.${n & 255}`, ...(r() < 0.3 ? [`fd50::${n.toString(16)}`] : [])];
  const e: ModelEndpoint = { name: `e${n}`, ips, host: pick(r, HOSTS), stack: pick(r, STACKS) };
  if (r() < 0.6) e.labels = { dept: pick(r, DEPTS) };
  const profiles = ["WEB", "APP"].filter(() => r() < 0.4);
  if (profiles.length > 0) e.profiles = profiles;
  return e;
}

export function randomModel(r: Rng, endpoints = 12): RandomModel {
  return { endpoints: Array.from({ length: endpoints }, (_, i) => endpoint(r, i + 1)), webPorts: [80, 443], appRules: 1, next: endpoints + 1 };
}

/** One to three random changes; the model given is not changed. */
export function changeModel(r: Rng, model: RandomModel): RandomModel {
  const m: RandomModel = { ...model, endpoints: model.endpoints.map((e) => ({ ...e })), webPorts: [...model.webPorts] };
  const times = 1 + Math.floor(r() * 3);
  for (let i = 0; i < times; i++) {
    const e = pick(r, m.endpoints);
    switch (pick(r, ["join", "leave", "stack", "label", "address", "profiles", "port", "rule"] as const)) {
      case "join": m.endpoints.push(endpoint(r, m.next++)); break;
      case "leave": if (m.endpoints.length > 2) m.endpoints = m.endpoints.filter((x) => x !== e); break;
      case "stack": e.stack = pick(r, STACKS); break;
      case "label": e.labels = r() < 0.3 ? undefined : { dept: pick(r, DEPTS) }; break;
      case "address": e.ips = [`10.51.${m.next >> 8}.${m.next++ & 255}`, ...e.ips.slice(1)]; break;
      case "profiles": e.profiles = e.profiles?.length ? undefined : [pick(r, ["WEB", "APP"])]; break;
      case "port": m.webPorts = [m.webPorts[0], 1000 + Math.floor(r() * 9000)]; break;
      case "rule": m.appRules = m.appRules === 1 ? 2 : 1; break;
    }
  }
  return m;
}

/** The model as the model file's JSON (YAML's subset). */
export function modelText(m: RandomModel): string {
  const appRules = [
    { action: "allow", protocol: "tcp", dst_ports: [7890], src_tag: "APP_7890" },
    ...(m.appRules > 1 ? [{ action: "allow", protocol: "udp", dst_ports: [53] }] : []),
  ];
  return JSON.stringify({
    name: "delta",
    hosts: HOSTS.map((name) => ({ name })),
    endpoints: m.endpoints.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined))),
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }, { between: { groupBy: "dept" }, action: "allow" }] },
    profiles: [
      { id: "WEB", tags: ["WEB", "APP_7890"], inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: m.webPorts }], outbound_rules: [{ action: "allow" }] },
      { id: "APP", inbound_rules: appRules, outbound_rules: [{ action: "allow" }] },
    ],
  });
}

export { rng };
