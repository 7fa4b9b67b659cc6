/** Named constructors for Rancher network policy rules, so programs read like the policy. */
import { z } from "zod";
import { RancherRule as RancherRuleSchema } from "../provider/model/rancher";

export type RancherRule = z.input<typeof RancherRuleSchema>;
export type RancherAction = "allow" | "deny";

/** Traffic between containers of the same stack. */
export function withinStack(action: RancherAction = "allow"): RancherRule {
  return { within: "stack", action };
}

/** Traffic between containers of the same service. */
export function withinService(action: RancherAction = "allow"): RancherRule {
  return { within: "service", action };
}

/** Traffic from a service to the services it links to (replies by connection tracking). */
export function withinLinked(action: RancherAction = "allow"): RancherRule {
  return { within: "linked", action };
}

/** Traffic between containers whose label `key` has the same value (containers without it match no group). */
export function groupBy(key: string, action: RancherAction = "allow"): RancherRule {
  return { between: { groupBy: key }, action };
}

/** Traffic between containers matching the label selector, e.g. `"tier in (web, app)"`. */
export function between(selector: string, action: RancherAction = "allow"): RancherRule {
  return { between: { selector }, action };
}

/** Traffic from containers matching `from` to containers matching `to`, optionally on `ports` (see `ports.tcp`). */
export function fromTo(rule: { from?: string; to?: string; ports?: (number | string)[]; action?: RancherAction }): RancherRule {
  return {
    ...(rule.from !== undefined ? { from: { selector: rule.from } } : {}),
    ...(rule.to !== undefined ? { to: { selector: rule.to } } : {}),
    ...(rule.ports !== undefined ? { ports: rule.ports } : {}),
    action: rule.action ?? "allow",
  };
}
