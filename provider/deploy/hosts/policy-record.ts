/**
 * The policy a host's last apply enforced, kept in the host's record so that `netpol plan` can say
 * who may now reach whom compared with it. It is the whole network's compiled policy (endpoint
 * names, addresses, sets and programs; no SSH settings, no credentials), gzipped and base64
 * encoded into one line, so every host of a network carries the same text after the same apply.
 */
import { gunzipSync, gzipSync } from "zlib";
import type { PolicySet } from "../../ir";
import { isRecord } from "../../model/common";

/** The first word of a record's policy: a later format gets another one. */
const FORMAT = "netpol-policy-1";

export function encodePolicy(policySet: PolicySet): string {
  return `${FORMAT} ${gzipSync(JSON.stringify(policySet), { level: 6 }).toString("base64")}`;
}

/** The policy of a record, or why it cannot be read (another format, a damaged file). */
export function decodePolicy(text: string): PolicySet | string {
  const [format, data] = text.trim().split(" ");
  if (format !== FORMAT || data === undefined) return `the record's policy is in another format (${format?.slice(0, 20) ?? "empty"}), written by another version of netpol`;
  try {
    const ps: unknown = JSON.parse(gunzipSync(Buffer.from(data, "base64")).toString("utf8"));
    if (isRecord(ps) && Array.isArray(ps.endpoints) && Array.isArray(ps.layers) && isRecord(ps.sets) && isRecord(ps.programs)) return ps as unknown as PolicySet;
    return "the record's policy is not a policy set";
  } catch (e) {
    return `the record's policy cannot be read (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Hosts grouped by the policy their records carry, in the order given. */
export interface RecordedPolicy {
  hosts: string[];
  /** The encoded policy; undefined for hosts whose record has none (never applied, or by an older netpol). */
  policy?: string;
}

export function groupByPolicy(records: readonly { host: string; policy?: string }[]): RecordedPolicy[] {
  const groups = new Map<string | undefined, RecordedPolicy>();
  for (const r of records) {
    const g = groups.get(r.policy);
    if (g) g.hosts.push(r.host);
    else groups.set(r.policy, { hosts: [r.host], ...(r.policy !== undefined ? { policy: r.policy } : {}) });
  }
  return [...groups.values()];
}
