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

type PortMatch = { protocol: number; dstPorts: PortRange[] };

function rancherPorts(ports: (number | string)[]): PortMatch[] {
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

/**
 * The endpoints' names grouped by what the rules group them by, read in one pass over the
 * inventory (a key per stack or label group filtered alone would read it once per group).
 */
class Groups {
  readonly byStack = new Map<string, string[]>();
  readonly byService = new Map<string, string[]>();
  readonly byLink = new Map<string, string[]>();
  private readonly byLabel = new Map<string, Map<string, string[]>>();

  constructor(private readonly endpoints: readonly Endpoint[]) {
    for (const e of endpoints) {
      if (e.stack !== undefined) {
        push(this.byStack, e.stack, e.name);
        if (e.service !== undefined) push(this.byService, `${e.stack}/${e.service}`, e.name);
      }
      for (const target of new Set(e.links ?? [])) push(this.byLink, target, e.name);
    }
  }

  /** Label `key`'s value → the endpoints carrying it, read the first time `key` is asked for. */
  label(key: string): Map<string, string[]> {
    let groups = this.byLabel.get(key);
    if (!groups) {
      groups = new Map();
      for (const e of this.endpoints) {
        const value = e.labels?.[key];
        if (value !== undefined) push(groups, value, e.name);
      }
      this.byLabel.set(key, groups);
    }
    return groups;
  }
}

function push<K>(m: Map<K, string[]>, key: K, name: string): void {
  const list = m.get(key);
  if (list) list.push(name);
  else m.set(key, [name]);
}

/**
 * The match parts of one rule for one destination, or undefined when the rule cannot apply to it.
 * `ports`: the rule's ports by protocol, read once per rule.
 */
function rulesFor(rule: RancherRule, ports: readonly PortMatch[], dest: Endpoint, ctx: CompileContext, selectors: Map<string, LabelSelector>, groups: Groups): Match[] | undefined {
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
        return stack === undefined ? undefined : [{ src: [{ set: b.namedEndpointSet(`stack:${stack}`, `stack ${stack}`, () => groups.byStack.get(stack) ?? []) }] }];
      case "service":
        return stack === undefined || service === undefined ? undefined
          : [{ src: [{ set: b.namedEndpointSet(`service:${stack}/${service}`, `service ${stack}/${service}`, () => groups.byService.get(`${stack}/${service}`) ?? []) }] }];
      case "linked": {
        if (stack === undefined || service === undefined) return undefined;
        const target = `${stack}/${service}`;
        return [{ src: [{ set: b.namedEndpointSet(`linked:${target}`, `links to ${target}`, () => groups.byLink.get(target) ?? []) }] }];
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
      return [{ src: [{ set: b.namedEndpointSet(`group:${key}=${value}`, `label ${key}=${value}`, () => groups.label(key).get(value) ?? []) }] }];
    }
    const text = rule.between.selector;
    if (!matchesLabelSelector(selector(text), dest.labels ?? {})) return undefined;
    return [{ src: [{ set: selected(text) }] }];
  }
  if (rule.to && !matchesLabelSelector(selector(rule.to.selector), dest.labels ?? {})) return undefined;
  const src: Match = rule.from ? { src: [{ set: selected(rule.from.selector) }] } : {};
  if (ports.length === 0) return [src];
  return ports.map((p) => ({ ...src, ...p }));
}

/** A rule's matches for a destination, and the sets they draw sources from (`-`: none apply). */
interface Resolved {
  matches: Match[] | undefined;
  sources: string;
}

/**
 * `rulesFor` of one rule, kept by what decides it for a destination (its stack, service, label
 * value, or whether it matches the rule's selector): 100,000 destinations share a few hundred.
 */
function ruleResolver(rule: RancherRule, ports: readonly PortMatch[], ctx: CompileContext, selectors: Map<string, LabelSelector>, groups: Groups): (dest: Endpoint) => Resolved {
  const known = new Map<string, Resolved>();
  const matchesSelector = (text: string, dest: Endpoint) => {
    let sel = selectors.get(text);
    if (!sel) { sel = parseStringSelector(text); selectors.set(text, sel); }
    return matchesLabelSelector(sel, dest.labels ?? {}) ? "1" : "0";
  };
  // \0 cannot occur in a name or label value: it keeps the parts of a key apart.
  const decisive: (dest: Endpoint) => string =
    "within" in rule ? (rule.within === "stack" ? (dest) => dest.stack ?? "\0" : (dest) => `${dest.stack ?? "\0"}\0${dest.service ?? "\0"}`)
      : "between" in rule ? ("groupBy" in rule.between
        ? ((key) => (dest: Endpoint) => dest.labels?.[key] ?? "\0")(rule.between.groupBy)
        : ((text) => (dest: Endpoint) => matchesSelector(text, dest))(rule.between.selector))
      : rule.to ? ((text) => (dest: Endpoint) => matchesSelector(text, dest))(rule.to.selector)
        : () => "";
  return (dest) => {
    const key = decisive(dest);
    let r = known.get(key);
    if (r === undefined) {
      const matches = rulesFor(rule, ports, dest, ctx, selectors, groups);
      r = { matches, sources: matches === undefined ? "-" : matches.map((m) => m.src?.map((s) => s.set).join("+") ?? "*").join(",") };
      known.set(key, r);
    }
    return r;
  };
}

export function compileRancher(ctx: CompileContext): Layer | undefined {
  const network = ctx.model.network;
  if (!network) return undefined;
  const end = network.defaultPolicyAction ?? "allow";
  const policy = network.policy ?? [];
  const selectors = new Map<string, LabelSelector>();
  const groups = new Groups(ctx.endpoints);
  const ports = policy.map((rule) => ("ports" in rule && rule.ports ? rancherPorts(rule.ports) : []));
  // A destination's program is fixed by the sets its rules draw sources from (ports and actions
  // are the rule's own): destinations alike in that share the program without building it again.
  const programBySources = new Map<string, string>();
  const ingress: Record<string, string> = {};
  const resolvers = policy.map((rule, i) => ruleResolver(rule, ports[i], ctx, selectors, groups));
  const origins = policy.map((_, i) => `network.policy[${i}]`);
  for (const dest of ctx.endpoints) {
    const resolved = resolvers.map((resolve) => resolve(dest));
    // A destination no rule can touch under a default of allow is not filtered at all.
    if (end === "allow" && resolved.every((r) => r.matches === undefined || r.matches.length === 0)) continue;
    const key = resolved.map((r) => r.sources).join("|");
    let id = programBySources.get(key);
    if (id === undefined) {
      const rules: Rule[] = [];
      resolved.forEach((r, i) => {
        for (const match of r.matches ?? []) rules.push({ match, action: policy[i].action, origin: origins[i] });
      });
      id = ctx.builder.program({ tiers: [{ name: "rancher network policy", rules, end, endOrigin: "network.defaultPolicyAction" }] });
      programBySources.set(key, id);
    }
    ingress[dest.name] = id;
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
