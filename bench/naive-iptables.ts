/**
 * The naive baseline of the packet-path benchmark: one iptables rule per allowed (source,
 * destination) pair in FORWARD, policy DROP. Replies pass through a conntrack rule placed first, as
 * any real firewall of this kind would have; so only the first packet of a connection walks the
 * list, and where the measured pair sits in it decides what a new connection costs.
 */

export interface Pair {
  src: string;
  dst: string;
}

/** Where the measured pair's rule goes: last (the worst case) or halfway down the list. */
export type Placement = "end" | "middle";

/** Ordered pairs (a, b), a ≠ b, of endpoints that share a group: what groupBy allows. */
export function groupPairs(members: ReadonlyMap<string, readonly string[]>): Pair[] {
  const pairs: Pair[] = [];
  for (const group of [...members.keys()].sort()) {
    const ips = members.get(group) ?? [];
    for (const dst of ips) for (const src of ips) if (src !== dst) pairs.push({ src, dst });
  }
  return pairs;
}

/** The pairs with the measured pair moved to its placement. */
function orderedPairs(pairs: readonly Pair[], measured: Pair, placement: Placement): Pair[] {
  const others = pairs.filter((p) => !(p.src === measured.src && p.dst === measured.dst));
  const at = placement === "end" ? others.length : Math.floor(others.length / 2);
  return [...others.slice(0, at), measured, ...others.slice(at)];
}

/** `iptables-restore` input (a full restore of the filter table of a lab host made for this). */
export function naiveRuleset(pairs: readonly Pair[], measured: Pair, placement: Placement): { text: string; rules: number } {
  const ordered = orderedPairs(pairs, measured, placement);
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"];
  lines.push("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
  for (const p of ordered) lines.push(`-A FORWARD -s ${p.src}/32 -d ${p.dst}/32 -j ACCEPT`);
  lines.push("COMMIT", "");
  return { text: lines.join("\n"), rules: ordered.length + 1 };
}

/**
 * The same list on a Docker host, where Docker documents DOCKER-USER as the place for the user's
 * rules: `iptables-restore --noflush` input that replaces only that chain (FORWARD jumps to it
 * first). Allowed pairs and established flows RETURN to Docker's own chains; the rest is dropped.
 */
export function naiveDockerUserRuleset(pairs: readonly Pair[], measured: Pair, placement: Placement): { text: string; rules: number } {
  const ordered = orderedPairs(pairs, measured, placement);
  const lines = ["*filter", ":DOCKER-USER - [0:0]", "-A DOCKER-USER -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN"];
  for (const p of ordered) lines.push(`-A DOCKER-USER -s ${p.src}/32 -d ${p.dst}/32 -j RETURN`);
  lines.push("-A DOCKER-USER -j DROP", "COMMIT", "");
  return { text: lines.join("\n"), rules: ordered.length + 2 };
}
