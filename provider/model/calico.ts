/**
 * Calico v1 profiles (tags + ordered inbound/outbound rules, as `calicoctl profile … rule update`
 * reads them) and selector policies, in their native JSON shape.
 */
import { z } from "zod";
import { parseCalicoSelector, SelectorSyntaxError } from "./selectors";
import { cidr } from "./common";
import { byType, pickedUnion } from "./picked-union";

export const calicoSelector = z.string().max(4096).superRefine((s, ctx) => {
  try {
    parseCalicoSelector(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: e instanceof SelectorSyntaxError ? e.message : String(e) });
  }
});

const tag = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "a tag is 1-128 letters, digits, '_', '.', '-'");

const calicoPortNumber = z.number().int("a port must be a whole number").min(0, "a port must be 0-65535").max(65535, "a port must be 0-65535");
const calicoPortRange = z.string().superRefine((s, ctx) => {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535) {
    const dashed = /^(\d{1,5})-(\d{1,5})$/.exec(s);
    const hint = dashed ? ` (did you mean "${dashed[1]}:${dashed[2]}"?)` : /^\d{1,5}$/.test(s) ? ` (did you mean ${s}, without quotes?)` : "";
    ctx.addIssue({ code: "custom", message: `"${s}" is not a port range: write "N:M" with 0 <= N <= M <= 65535${hint}` });
  }
});

/** A port (80) or a range written "N:M". */
export const CalicoPort = byType([calicoPortNumber, calicoPortRange] as const, { number: calicoPortNumber, string: calicoPortRange },
  'a port (0-65535) or a range "N:M"');

const PROTOCOLS = ["tcp", "udp", "icmp", "icmpv6", "sctp", "udplite"] as const;
const protocolWord = z.enum(PROTOCOLS);
const protocolNumber = z.number().int("a protocol number must be a whole number").min(1, "a protocol number must be 1-255").max(255, "a protocol number must be 1-255");
/** A protocol name (lower case, as calicoctl writes it) or an IP protocol number. */
export const CalicoProtocol = byType([protocolWord, protocolNumber] as const, { string: protocolWord, number: protocolNumber },
  `one of ${PROTOCOLS.join(", ")} or a number 1-255`);
export type CalicoProtocol = z.infer<typeof CalicoProtocol>;

const ipVersion4 = z.literal(4);
const ipVersion6 = z.literal(6);
const ipVersion = pickedUnion([ipVersion4, ipVersion6] as const, (v) => (v === 4 ? { branch: ipVersion4 } : v === 6 ? { branch: ipVersion6 }
  : { issues: [{ code: "custom", message: `ip_version must be 4 or 6, not ${JSON.stringify(v)}` }] }));

const icmpValue = z.number().int().min(0, "must be 0-255").max(255, "must be 0-255");

export const CalicoAction = z.enum(["allow", "deny", "next-tier", "pass", "log"]);

const PORT_PROTOCOLS = new Set<unknown>(["tcp", "udp", "sctp", "udplite", 6, 17, 132, 136]);

export const CalicoRule = z.object({
  action: CalicoAction,
  protocol: CalicoProtocol.optional(),
  "!protocol": CalicoProtocol.optional(),
  src_tag: tag.optional(),
  "!src_tag": tag.optional(),
  src_net: cidr.optional(),
  "!src_net": cidr.optional(),
  src_selector: calicoSelector.optional(),
  "!src_selector": calicoSelector.optional(),
  src_ports: z.array(CalicoPort).optional(),
  "!src_ports": z.array(CalicoPort).optional(),
  dst_tag: tag.optional(),
  "!dst_tag": tag.optional(),
  dst_net: cidr.optional(),
  "!dst_net": cidr.optional(),
  dst_selector: calicoSelector.optional(),
  "!dst_selector": calicoSelector.optional(),
  dst_ports: z.array(CalicoPort).optional(),
  "!dst_ports": z.array(CalicoPort).optional(),
  icmp_type: icmpValue.optional(),
  "!icmp_type": icmpValue.optional(),
  icmp_code: icmpValue.optional(),
  "!icmp_code": icmpValue.optional(),
  ip_version: ipVersion.optional(),
}).strict().superRefine((r, ctx) => {
  const portFields = ["src_ports", "!src_ports", "dst_ports", "!dst_ports"] as const;
  for (const f of portFields) {
    if (r[f] !== undefined && !PORT_PROTOCOLS.has(r.protocol)) {
      ctx.addIssue({ code: "custom", path: [f], message: 'ports need "protocol" set to tcp, udp, sctp or udplite' });
    }
  }
  for (const f of ["icmp_type", "!icmp_type", "icmp_code", "!icmp_code"] as const) {
    if (r[f] !== undefined && r.protocol !== "icmp" && r.protocol !== "icmpv6" && r.protocol !== 1 && r.protocol !== 58) {
      ctx.addIssue({ code: "custom", path: [f], message: 'ICMP type and code need "protocol" set to icmp or icmpv6' });
    }
  }
  if (r.icmp_code !== undefined && r.icmp_type === undefined) {
    ctx.addIssue({ code: "custom", path: ["icmp_code"], message: "icmp_code needs icmp_type" });
  }
  for (const f of ["src_net", "!src_net", "dst_net", "!dst_net"] as const) {
    const v = r[f];
    if (v !== undefined && r.ip_version !== undefined && v.includes(":") !== (r.ip_version === 6)) {
      ctx.addIssue({ code: "custom", path: [f], message: `"${v}" does not match ip_version ${r.ip_version}` });
    }
  }
});
export type CalicoRule = z.infer<typeof CalicoRule>;

/**
 * A profile. Omitted fields take calicoctl's defaults for a fresh profile: tags `[id]`, inbound
 * "allow from tag <id>", outbound "allow". An explicit empty list means no rules (deny).
 */
export const CalicoProfile = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "a profile id is 1-128 letters, digits, '_', '.', '-'"),
  tags: z.array(tag).optional(),
  inbound_rules: z.array(CalicoRule).optional(),
  outbound_rules: z.array(CalicoRule).optional(),
}).strict();
export type CalicoProfile = z.infer<typeof CalicoProfile>;

/** A selector policy: applies to endpoints its selector matches, ordered by `order` then name. */
export const CalicoPolicy = z.object({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "a policy name is a DNS subdomain (lowercase letters, digits, '-', '.')"),
  /** Lower orders apply first; a policy without an order comes after all ordered ones. */
  order: z.number().finite().optional(),
  selector: calicoSelector,
  inbound_rules: z.array(CalicoRule).optional(),
  outbound_rules: z.array(CalicoRule).optional(),
  ingress: z.array(CalicoRule).optional(),
  egress: z.array(CalicoRule).optional(),
}).strict().superRefine((p, ctx) => {
  if (p.inbound_rules && p.ingress) ctx.addIssue({ code: "custom", path: ["ingress"], message: 'use either "inbound_rules" or "ingress", not both' });
  if (p.outbound_rules && p.egress) ctx.addIssue({ code: "custom", path: ["egress"], message: 'use either "outbound_rules" or "egress", not both' });
});
export type CalicoPolicy = z.infer<typeof CalicoPolicy>;
