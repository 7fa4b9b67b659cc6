/**
 * The comments both writers print with sets, verdict maps (or dispatch rules) and tier chains:
 * what each is for in the model's words, and counts of what the writer printed. Everything goes
 * through `commentText` (user text: stack names, selectors, endpoint names).
 */
import { commentText, plural } from "../ruleset/comment";
import { TierChain } from "./chains";
import { Dispatch, SetPart } from "./host-program";

const TAIL = { return: "allow", drop: "drop", goto: "next tier" } as const;
const addresses = (n: number): string => (n === 1 ? "1 address" : `${n} addresses`);

/** A `#` line of the rendered text (not kept by the kernel) may say more than a comment. */
const NOTE_MAX = 1000;

/**
 * The chain's `#` line in iptables text: `rancher network policy, 1 rule, else drop` (nftables: see
 * nftChainComment; the count goes on the `#` line there). Tiers of equal content share
 * one chain; it names one of them and never counts them, since that count would change every
 * host's text whenever a tier elsewhere in the network comes or goes.
 */
export function chainComment(chain: TierChain, ruleLines: number): string {
  return commentText(`${chain.note.tier}, ${plural(ruleLines, "rule")}, else ${TAIL[chain.tail.kind]}`);
}

/**
 * A chain's comment in the kernel (nftables): `rancher network policy, else drop`. No count: nft
 * cannot change an existing chain's comment, so a count there would turn every added or removed
 * rule into a full replace instead of a refilled chain; the count goes on the `#` line above it.
 */
export function nftChainComment(chain: TierChain): string {
  return commentText(`${chain.note.tier}, else ${TAIL[chain.tail.kind]}`);
}

/** The `#` line above a chain: `network.policy[0] from stack web; no match: network.defaultPolicyAction`. */
export function chainNotes(chain: TierChain): string {
  const { rules, end } = chain.note;
  return commentText(`${rules.length > 0 ? rules.join(", ") : "no rules"}; no match: ${end}`, NOTE_MAX);
}

/** `stack web, IPv4: 2 addresses`. */
export function setComment(part: SetPart): string {
  const n = part.elements.length;
  const what = part.kind === "endpoints" ? addresses(n) : plural(n, "network");
  return commentText(`${part.purpose}, IPv${part.family}: ${what}`);
}

/**
 * A set's comment in the kernel (nftables): `stack web, IPv4 addresses`. No count: nft cannot
 * change an existing set's comment, and an incremental apply adds an element without touching it.
 */
export function nftSetComment(part: SetPart): string {
  return commentText(`${part.purpose}, IPv${part.family} ${part.kind === "endpoints" ? "addresses" : "networks"}`);
}

/** A verdict map's comment in the kernel (nftables), without the count for the same reason. */
export function nftDispatchComment(d: Dispatch): string {
  const side = d.direction === "egress" ? "source" : "destination";
  return commentText(`${d.layer} ${d.direction} dispatch, IPv${d.family}: local ${side} -> first tier of its program`);
}

/** `rancher ingress dispatch, IPv4: local destination -> first tier of its program, 3 addresses`. */
export function dispatchComment(d: Dispatch): string {
  const side = d.direction === "egress" ? "source" : "destination";
  return commentText(`${d.layer} ${d.direction} dispatch, IPv${d.family}: local ${side} -> first tier of its program, ${addresses(d.entries.length)}`);
}

/** The endpoints an address belongs to: `shop/db-1`. */
export function endpointsComment(names: readonly string[]): string {
  return commentText(names.join(", "));
}
