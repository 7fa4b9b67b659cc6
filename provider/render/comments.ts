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

/** `rancher network policy, 1 rule: network.policy[0] from stack web; else drop: network.defaultPolicyAction`. */
export function chainComment(chain: TierChain, ruleLines: number): string {
  const { tier, rules, end, others } = chain.note;
  const shared = others > 0 ? ` (shared by ${others + 1} tiers)` : "";
  const notes = rules.length > 0 ? `: ${rules.join(", ")}` : "";
  return commentText(`${tier}${shared}, ${plural(ruleLines, "rule")}${notes}; else ${TAIL[chain.tail.kind]}: ${end}`);
}

/** `stack web, IPv4: 2 addresses`. */
export function setComment(part: SetPart): string {
  const n = part.elements.length;
  const what = part.kind === "endpoints" ? addresses(n) : plural(n, "network");
  return commentText(`${part.purpose}, IPv${part.family}: ${what}`);
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
