/**
 * What `netpol plan` prints above the rule lines: who may now reach whom. It compares with the
 * policy the hosts' records say the last apply enforced (the same lines as `netpol diff`); hosts
 * whose records differ (an apply that reached only some of them) get a section each, and hosts
 * without a recorded policy get the whole of who may reach whom after the apply.
 */
import { accessText } from "../analyze/access";
import { diffPolicySets, formatDiff } from "../analyze/diff";
import { decodePolicy, groupByPolicy } from "../deploy/hosts/policy-record";
import type { PolicySet } from "../ir";

const indent = (text: string) => text.split("\n").map((l) => `  ${l}`);

/** `hosts`: every host read, with the policy its record carries. */
export function accessChangeLines(after: PolicySet, hosts: readonly { host: string; policy?: string }[]): string[] {
  const all = after.endpoints.map((e) => e.name);
  const groups = groupByPolicy(hosts);
  return groups.flatMap((g) => {
    const where = groups.length === 1 && hosts.length > 1 ? `every host (${g.hosts.join(", ")})` : g.hosts.join(", ");
    const before = g.policy === undefined ? "no policy is recorded there (never applied, or applied by an older netpol)" : decodePolicy(g.policy);
    if (typeof before === "string") return [`who may reach whom after apply, not compared on ${where}: ${before}`, ...indent(accessText(after))];
    return [`who may reach whom, compared with the policy last applied to ${where}:`, ...indent(formatDiff(diffPolicySets(before, after), all))];
  });
}
