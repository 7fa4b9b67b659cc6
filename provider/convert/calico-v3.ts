/**
 * Calico v1 documents (profiles with tags, selector policies; the shapes the seed uses) → Calico
 * v3 resources (`projectcalico.org/v3` Profile and GlobalNetworkPolicy), for clusters running
 * current Calico. The mapping:
 *
 * | v1                                   | v3                                                      |
 * | ------------------------------------ | ------------------------------------------------------- |
 * | profile `tags: [T]`                  | `spec.labelsToApply: {T: ""}`                           |
 * | `src_tag: T` / `!src_tag: T`         | `source.selector: has(T)` / `source.notSelector`        |
 * | `src_selector` / `!src_selector`     | `source.selector` / `source.notSelector` (ANDed / ORed with tags) |
 * | `src_net` / `!src_net`               | `source.nets: [...]` / `source.notNets`                 |
 * | `src_ports` (`80`, `"N:M"`)          | `source.ports` (same values), `!src_ports` → `notPorts`  |
 * | `dst_*`                              | `destination.*` likewise                                |
 * | `protocol` / `!protocol`             | `protocol` / `notProtocol` (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, or the number) |
 * | `icmp_type`, `icmp_code` (`!…`)      | `icmp: {type, code}` / `notICMP`                        |
 * | `ip_version`                         | `ipVersion`                                             |
 * | `allow`, `deny`, `log`, `next-tier`/`pass` | `Allow`, `Deny`, `Log`, `Pass`                    |
 * | policy `order`, `selector`           | GlobalNetworkPolicy `order`, `selector`, `types` from the written rule lists |
 *
 * A profile written without rules gets calicoctl's defaults, made explicit. v3 names are
 * lowercase: a profile id is lowercased and the original kept in an annotation.
 */
import { CalicoPolicy, CalicoProfile, CalicoProtocol, CalicoRule } from "../model/calico";

export const V1_ID_ANNOTATION = "netpol.pulumi.io/calico-v1-id";

type V3Action = "Allow" | "Deny" | "Log" | "Pass";
type V3Protocol = string | number;

export interface V3EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  ports?: (number | string)[];
  notPorts?: (number | string)[];
}

export interface V3Rule {
  action: V3Action;
  protocol?: V3Protocol;
  notProtocol?: V3Protocol;
  ipVersion?: 4 | 6;
  icmp?: { type: number; code?: number };
  notICMP?: { type?: number; code?: number };
  source?: V3EntityRule;
  destination?: V3EntityRule;
}

export interface V3Resource {
  apiVersion: "projectcalico.org/v3";
  kind: "Profile" | "GlobalNetworkPolicy";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

const ACTION: Record<CalicoRule["action"], V3Action> = { allow: "Allow", deny: "Deny", log: "Log", "next-tier": "Pass", pass: "Pass" };
const PROTOCOL: Record<string, string> = { tcp: "TCP", udp: "UDP", icmp: "ICMP", icmpv6: "ICMPv6", sctp: "SCTP", udplite: "UDPLite" };

const protocol = (p: CalicoProtocol): V3Protocol => (typeof p === "number" ? p : PROTOCOL[p]);
const paren = (s: string) => `(${s})`;

function join(parts: (string | undefined)[], op: " && " | " || "): string | undefined {
  const present = parts.filter((p): p is string => p !== undefined && p.trim() !== "");
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : present.map(paren).join(op);
}

function entity(r: CalicoRule, side: "src" | "dst"): V3EntityRule | undefined {
  const get = <K extends keyof CalicoRule>(k: K) => r[k];
  const tag = get(`${side}_tag`) as string | undefined;
  const notTag = get(`!${side}_tag`) as string | undefined;
  const out: V3EntityRule = {};
  const selector = join([tag !== undefined ? `has(${tag})` : undefined, get(`${side}_selector`) as string | undefined], " && ");
  const notSelector = join([notTag !== undefined ? `has(${notTag})` : undefined, get(`!${side}_selector`) as string | undefined], " || ");
  const net = get(`${side}_net`) as string | undefined;
  const notNet = get(`!${side}_net`) as string | undefined;
  const ports = get(`${side}_ports`) as (number | string)[] | undefined;
  const notPorts = get(`!${side}_ports`) as (number | string)[] | undefined;
  if (net !== undefined) out.nets = [net];
  if (notNet !== undefined) out.notNets = [notNet];
  if (selector !== undefined) out.selector = selector;
  if (notSelector !== undefined) out.notSelector = notSelector;
  if (ports !== undefined) out.ports = [...ports];
  if (notPorts !== undefined) out.notPorts = [...notPorts];
  return Object.keys(out).length > 0 ? out : undefined;
}

export function ruleToV3(r: CalicoRule): V3Rule {
  const out: V3Rule = { action: ACTION[r.action] };
  if (r.protocol !== undefined) out.protocol = protocol(r.protocol);
  if (r["!protocol"] !== undefined) out.notProtocol = protocol(r["!protocol"]);
  if (r.ip_version !== undefined) out.ipVersion = r.ip_version;
  if (r.icmp_type !== undefined) out.icmp = { type: r.icmp_type, ...(r.icmp_code !== undefined ? { code: r.icmp_code } : {}) };
  if (r["!icmp_type"] !== undefined || r["!icmp_code"] !== undefined) {
    out.notICMP = { ...(r["!icmp_type"] !== undefined ? { type: r["!icmp_type"] } : {}), ...(r["!icmp_code"] !== undefined ? { code: r["!icmp_code"] } : {}) };
  }
  const source = entity(r, "src");
  const destination = entity(r, "dst");
  if (source) out.source = source;
  if (destination) out.destination = destination;
  return out;
}

/** calicoctl's rules for a fresh profile, for fields the document leaves out. */
export function profileWithDefaults(p: CalicoProfile): Required<CalicoProfile> {
  return {
    id: p.id,
    tags: p.tags ?? [p.id],
    inbound_rules: p.inbound_rules ?? [{ action: "allow", src_tag: p.id }],
    outbound_rules: p.outbound_rules ?? [{ action: "allow" }],
  };
}

export function v3Name(id: string): string {
  return id.toLowerCase().replace(/_/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "") || "profile";
}

export function profileToV3(p: CalicoProfile): V3Resource {
  const full = profileWithDefaults(p);
  const name = v3Name(p.id);
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "Profile",
    metadata: { name, ...(name !== p.id ? { annotations: { [V1_ID_ANNOTATION]: p.id } } : {}) },
    spec: {
      ingress: full.inbound_rules.map(ruleToV3),
      egress: full.outbound_rules.map(ruleToV3),
      labelsToApply: Object.fromEntries(full.tags.map((t) => [t, ""])),
    },
  };
}

export function policyToV3(p: CalicoPolicy): V3Resource {
  const ingress = p.inbound_rules ?? p.ingress;
  const egress = p.outbound_rules ?? p.egress;
  const types = [...(ingress ? ["Ingress"] : []), ...(egress ? ["Egress"] : [])];
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "GlobalNetworkPolicy",
    metadata: { name: p.name },
    spec: {
      ...(p.order !== undefined ? { order: p.order } : {}),
      selector: p.selector,
      types,
      ...(ingress ? { ingress: ingress.map(ruleToV3) } : {}),
      ...(egress ? { egress: egress.map(ruleToV3) } : {}),
    },
  };
}
