/**
 * Rancher 1.x network policy → the `rancher` layer.
 *
 * Rancher filters ingress only: each destination gets one tier holding the network's rules in
 * order, ending in `defaultPolicyAction` (Rancher's default: allow). A rule's source set is resolved
 * relative to the destination:
 * - `within: stack`: sources in the destination's stack; `within: service`: in its stack and service;
 * - `within: linked`: sources whose `links` name the destination's `stack/service` (directional:
 *   the consumer may open connections to the linked service; replies ride connection tracking);
 * - `between: {groupBy: K}`: sources whose label K equals the destination's; a destination without
 *   K matches no group rule;
 * - `between: {selector: S}`: when the destination matches S, sources matching S;
 * - `from`/`to` selectors with `ports`: when the destination matches `to`, sources matching `from`.
 */
import { Endpoint } from "../model/inventory";
import { RancherRule } from "../model/rancher";
import { CompileContext } from "./context";
import { Layer, PortRange, PROTO, Rule } from "../ir";
import { LabelSelector, matchesLabelSelector, parseStringSelector } from "../model/selectors";

type Match = Rule["match"];

function rancherPorts(ports: (number | string)[]): { protocol: number; dstPorts: PortRange[] }[] {
  const byProto = new Map<number, PortRange[]>();
  for (const p of ports) {
    let proto: number = PROTO.tcp;
    let range: PortRange;
    if (typeof p === "number") range = { from: p, to: p };
    else {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
      if (!m) throw new Error(`unreadable port "${p}"`);
      range = { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
      proto = PROTO[(m[3] ?? "tcp").toLowerCase() as "tcp" | "udp" | "sctp"];
    }
    byProto.set(proto, [...(byProto.get(proto) ?? []), range]);
  }
  return [...byProto].sort(([a], [b]) => a - b).map(([protocol, dstPorts]) => ({ protocol, dstPorts }));
}

/** The match parts of one rule for one destination, or undefined when the rule cannot apply to it. */
function rulesFor(rule: RancherRule, dest: Endpoint, ctx: CompileContext, selectors: Map<string, LabelSelector>): Match[] | undefined {
  const b = ctx.builder;
  const members = (key: string, purpose: string, pick: (e: Endpoint) => boolean) =>
    b.namedEndpointSet(key, purpose, () => ctx.endpoints.filter(pick).map((e) => e.name));
  const selector = (text: string) => {
    let sel = selectors.get(text);
    if (!sel) { sel = parseStringSelector(text); selectors.set(text, sel); }
    return sel;
  };
  const selected = (text: string) => members(`rancher-selector:${text}`, `selector ${text}`, (e) => matchesLabelSelector(selector(text), e.labels ?? {}));

  if ("within" in rule) {
    const { stack, service } = dest;
    switch (rule.within) {
      case "stack":
        return stack === undefined ? undefined : [{ src: [{ set: members(`stack:${stack}`, `stack ${stack}`, (e) => e.stack === stack) }] }];
      case "service":
        return stack === undefined || service === undefined ? undefined
          : [{ src: [{ set: members(`service:${stack}/${service}`, `service ${stack}/${service}`, (e) => e.stack === stack && e.service === service) }] }];
      case "linked": {
        if (stack === undefined || service === undefined) return undefined;
        const target = `${stack}/${service}`;
        return [{ src: [{ set: members(`linked:${target}`, `links to ${target}`, (e) => (e.links ?? []).includes(target)) }] }];
      }
      default: {
        const never: never = rule.within;
        return never;
      }
    }
  }
  if ("between" in rule) {
    if ("groupBy" in rule.between) {
      const key = rule.between.groupBy;
      const value = dest.labels?.[key];
      if (value === undefined) return undefined;
      return [{ src: [{ set: members(`group:${key}=${value}`, `label ${key}=${value}`, (e) => e.labels?.[key] === value) }] }];
    }
    const text = rule.between.selector;
    if (!matchesLabelSelector(selector(text), dest.labels ?? {})) return undefined;
    return [{ src: [{ set: selected(text) }] }];
  }
  if (rule.to && !matchesLabelSelector(selector(rule.to.selector), dest.labels ?? {})) return undefined;
  const src: Match = rule.from ? { src: [{ set: selected(rule.from.selector) }] } : {};
  if (!rule.ports || rule.ports.length === 0) return [src];
  return rancherPorts(rule.ports).map((p) => ({ ...src, ...p }));
}

export function compileRancher(ctx: CompileContext): Layer | undefined {
  const network = ctx.model.network;
  if (!network) return undefined;
  const end = network.defaultPolicyAction ?? "allow";
  const policy = network.policy ?? [];
  const selectors = new Map<string, LabelSelector>();
  const ingress: Record<string, string> = {};
  for (const dest of ctx.endpoints) {
    const rules: Rule[] = [];
    policy.forEach((rule, i) => {
      for (const match of rulesFor(rule, dest, ctx, selectors) ?? []) {
        rules.push({ match, action: rule.action, origin: `network.policy[${i}]` });
      }
    });
    // A destination no rule can touch under a default of allow is not filtered at all.
    if (rules.length === 0 && end === "allow") continue;
    ingress[dest.name] = ctx.builder.program({
      tiers: [{ name: "rancher network policy", rules, end, endOrigin: "network.defaultPolicyAction" }],
    });
  }
  return {
    name: "rancher",
    ingress,
    egress: {},
    ungoverned: {
      ingress: "no Rancher rule applies and network.defaultPolicyAction is allow",
      egress: "Rancher filters ingress only",
    },
  };
}
