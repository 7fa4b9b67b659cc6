/**
 * Masquerade detection: a host whose source-NAT rules (targets/ssh/nat-check.ts) rewrite what its
 * endpoints send to other hosts' endpoints. The receiving host then sees the sending host's
 * address, and its rules for the sending endpoint never match (Docker's default bridge does this:
 * `-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`). Judged on every read, one warning per host;
 * nothing on the host is changed. Pure.
 *
 * A rule counts when its source matches an endpoint of the host and its destination matches an
 * endpoint of another host (no destination, a negated one, or one that contains such an address).
 * Interfaces (`-o`) are not judged: traffic to another host leaves by some other interface than
 * the bridge, which is what Docker's rule says.
 */
import type { Model } from "../../model/model";
import { Address, Cidr, containsAddress, parseAddress, parseCidr } from "../../model/net";
import type { NatRule } from "../../targets/ssh/nat-check";

/** What a host's NAT rules are judged against. */
export interface MasqueradeScope {
  /** The host's own endpoints. */
  local: { name: string; ips: string[] }[];
  /** Addresses of endpoints on other hosts of the model. */
  remote: string[];
}

export function masqueradeScope(model: Model, host: string): MasqueradeScope {
  const endpoints = model.endpoints ?? [];
  return {
    local: endpoints.filter((e) => e.host === host).map((e) => ({ name: e.name, ips: e.ips })),
    remote: endpoints.filter((e) => e.host !== undefined && e.host !== host).flatMap((e) => e.ips),
  };
}

/** The CIDR of an address match as listed (`172.17.0.0/16`, or a bare address). */
function cidrOfMatch(text: string): Cidr | undefined {
  const withPrefix = text.includes("/") ? text : (() => {
    const a = parseAddress(text);
    return a ? `${text}/${a.family === 4 ? 32 : 128}` : text;
  })();
  const r = parseCidr(withPrefix);
  return r.ok ? r.cidr : undefined;
}

/** Whether an address falls under a rule's match (no match: every address of the rule's family). */
function matches(match: NatRule["source"], family: 4 | 6, addr: Address): boolean {
  if (addr.family !== family) return false;
  if (!match) return true;
  const cidr = cidrOfMatch(match.cidr);
  if (!cidr) return false;
  return containsAddress(cidr, addr) !== match.negated;
}

const FIX = "Turn masquerading off for the endpoints' network (Docker: daemon option \"ip-masq\": false, " +
  "or a user network created with -o com.docker.network.bridge.enable_ip_masquerade=false) and route its subnet " +
  "between the hosts instead (see \"Plain Docker hosts\" in the README)";

/** One warning per host whose NAT rules masquerade its endpoints' traffic to other hosts' endpoints. */
export function masqueradeWarnings(host: string, nat: readonly NatRule[] | undefined, scope: MasqueradeScope | undefined): string[] {
  if (!nat || nat.length === 0 || !scope || scope.local.length === 0 || scope.remote.length === 0) return [];
  const remote = scope.remote.map(parseAddress).filter((a): a is Address => a !== undefined);
  const hits: { rule: NatRule; endpoints: string[] }[] = [];
  for (const rule of nat) {
    if (!remote.some((r) => matches(rule.destination, rule.family, r))) continue;
    const endpoints = scope.local.filter((e) => e.ips.some((ip) => {
      const a = parseAddress(ip);
      return a !== undefined && matches(rule.source, rule.family, a);
    })).map((e) => e.name);
    if (endpoints.length > 0) hits.push({ rule, endpoints });
  }
  if (hits.length === 0) return [];
  const names = [...new Set(hits.flatMap((h) => h.endpoints))].sort();
  const shown = names.length > 5 ? `${names.slice(0, 5).join(", ")} and ${names.length - 5} more` : names.join(", ");
  const rules = hits.map((h) => `"${h.rule.text}" (${h.rule.listedBy})`).join(", ");
  return [
    `${host}: traffic from endpoint(s) ${shown} to other hosts is masqueraded by ${rules}: ` +
      `the other hosts see ${host}'s address instead, so their rules for these endpoints never match. ${FIX}`,
  ];
}
