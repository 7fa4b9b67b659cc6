/**
 * Calico profiles (v1) and selector policies → the `calico` layer.
 *
 * Which endpoints are governed, per direction (ingress = inbound rules of the destination,
 * egress = outbound rules of the source):
 * - an endpoint with at least one profile is governed in both directions;
 * - a policy applies to an endpoint in a direction when its `selector` matches the endpoint's
 *   labels and the policy lists rules for that direction (`inbound_rules`/`ingress`,
 *   `outbound_rules`/`egress`). An explicitly written empty list counts: it applies and denies.
 *   This agrees with Calico's defaulting of an unset `types` (v2.6+: ingress if only ingress
 *   rules, egress if only egress rules, both if both) whenever the written lists are non-empty.
 *   It differs in two corner cases, because the model has no `types` field and a written list is
 *   how one says which directions a policy governs: a policy with no rule list at all applies to
 *   nothing (Calico: ingress, denying), and `outbound_rules: []` is a default deny for egress
 *   (Calico would ignore the empty list);
 * - an endpoint with neither profiles nor an applying policy is not governed: allowed.
 *
 * An endpoint's program, per direction:
 * 1. tier `calico policies` (only when some policy applies): the applying policies' rules,
 *    policies ordered by `order` (absent = after all ordered), then name. First match wins;
 *    `next-tier`/`pass` skips to the profiles (no profiles: deny, as Calico documents);
 *    no match → deny (profiles are not consulted).
 * 2. one tier per profile, in the endpoint's order (`profile WEB`): no match (or `next-tier`) goes
 *    on to the next profile; no profile allows → deny.
 * `log` is non-terminal. Omitted profile fields take calicoctl's defaults for a fresh profile:
 * tags `[id]`, inbound "allow from tag <id>", outbound "allow".
 *
 * Rule fields: `src_*` always test the packet's source, `dst_*` its destination (for an inbound
 * rule the destination is the local endpoint; for an outbound rule the source is). Tags, nets and
 * selectors become address sets tested at run time, also when they name the local endpoint.
 *
 * Endpoints with the same applying policies and profiles share one program; every tag, selector
 * and net set is computed once over the inventory.
 */
import { CalicoPolicy, CalicoProfile, CalicoProtocol, CalicoRule } from "../model/calico";
import { CompileContext } from "./context";
import { Action, AddressMatch, Direction, Layer, Match, PortRange, PROTO, Rule, Tier } from "../ir";
import { matchesSelector, parseCalicoSelector, SelectorAst } from "../model/selectors";

/** A rule list as written (or defaulted), with the input path its rules' origins start from. */
interface RuleList {
  rules: readonly CalicoRule[];
  path: string;
  /** Set when the field was omitted and calicoctl's default stands in: shown in origins. */
  defaulted?: string;
}

const SIDES = {
  src: { tag: "src_tag", notTag: "!src_tag", net: "src_net", notNet: "!src_net", selector: "src_selector", notSelector: "!src_selector" },
  dst: { tag: "dst_tag", notTag: "!dst_tag", net: "dst_net", notNet: "!dst_net", selector: "dst_selector", notSelector: "!dst_selector" },
} as const;

const WORD: Record<Direction, string> = { ingress: "inbound", egress: "outbound" };

export function protocolNumber(p: CalicoProtocol): number {
  return typeof p === "number" ? p : PROTO[p];
}

/** `80` → 80-80; `"1000:2000"` → 1000-2000 (validated by the schema). */
export function portRanges(ports: readonly (number | string)[]): PortRange[] {
  return ports.map((p) => {
    if (typeof p === "number") return { from: p, to: p };
    const [from, to] = p.split(":").map(Number);
    return { from, to };
  });
}

function irAction(a: CalicoRule["action"]): Action {
  switch (a) {
    case "allow": return "allow";
    case "deny": return "deny";
    case "next-tier":
    case "pass": return "pass";
    case "log": return "log";
    default: {
      const never: never = a;
      return never;
    }
  }
}

/** Address sets named by rules, each computed once over the inventory. */
class CalicoSets {
  private readonly tagMembers = new Map<string, string[]>();
  private readonly asts = new Map<string, SelectorAst>();

  constructor(private readonly ctx: CompileContext, profiles: ReadonlyMap<string, CalicoProfile>) {
    for (const e of ctx.endpoints) {
      const tags = new Set((e.profiles ?? []).flatMap((id) => profileTags(profiles.get(id), id)));
      for (const t of tags) {
        const members = this.tagMembers.get(t);
        if (members) members.push(e.name);
        else this.tagMembers.set(t, [e.name]);
      }
    }
  }

  ast(text: string): SelectorAst {
    let ast = this.asts.get(text);
    if (!ast) { ast = parseCalicoSelector(text); this.asts.set(text, ast); }
    return ast;
  }

  /** Endpoints carrying tag `t` through any of their profiles. */
  tag(t: string): string {
    const b = this.ctx.builder;
    return b.namedEndpointSet(`calico-tag:${t}`, `calico tag ${t}`, () => this.tagMembers.get(t) ?? []);
  }

  /** Endpoints whose labels match a Calico selector. */
  selector(text: string): string {
    const b = this.ctx.builder;
    const ast = this.ast(text);
    return b.namedEndpointSet(`calico-selector:${text}`, `calico selector ${text}`, () =>
      this.ctx.endpoints.filter((e) => matchesSelector(ast, e.labels ?? {})).map((e) => e.name));
  }

  net(cidr: string): string {
    return this.ctx.builder.netSet(cidr);
  }

  /** The address tests of one side of a rule, positive ones first. */
  side(r: CalicoRule, side: keyof typeof SIDES): AddressMatch[] | undefined {
    const f = SIDES[side];
    const out: AddressMatch[] = [];
    const add = (value: string | undefined, set: (v: string) => string, negate: boolean) => {
      if (value !== undefined) out.push(negate ? { set: set(value), negate: true } : { set: set(value) });
    };
    add(r[f.tag], (v) => this.tag(v), false);
    add(r[f.net], (v) => this.net(v), false);
    add(r[f.selector], (v) => this.selector(v), false);
    add(r[f.notTag], (v) => this.tag(v), true);
    add(r[f.notNet], (v) => this.net(v), true);
    add(r[f.notSelector], (v) => this.selector(v), true);
    return out.length > 0 ? out : undefined;
  }
}

function profileTags(p: CalicoProfile | undefined, id: string): string[] {
  if (!p) throw new Error(`profile "${id}" is not defined`);
  return p.tags ?? [p.id];
}

/** One Calico rule's match; fields in a fixed order so equal rules hash equally. */
function ruleMatch(r: CalicoRule, sets: CalicoSets): Match {
  const m: Match = {};
  const src = sets.side(r, "src");
  const dst = sets.side(r, "dst");
  if (src) m.src = src;
  if (dst) m.dst = dst;
  if (r.protocol !== undefined) m.protocol = protocolNumber(r.protocol);
  if (r["!protocol"] !== undefined) m.notProtocol = protocolNumber(r["!protocol"]);
  if (r.dst_ports) m.dstPorts = portRanges(r.dst_ports);
  if (r["!dst_ports"]) m.notDstPorts = portRanges(r["!dst_ports"]);
  if (r.src_ports) m.srcPorts = portRanges(r.src_ports);
  if (r["!src_ports"]) m.notSrcPorts = portRanges(r["!src_ports"]);
  if (r.icmp_type !== undefined) m.icmpType = r.icmp_type;
  if (r["!icmp_type"] !== undefined) m.notIcmpType = r["!icmp_type"];
  if (r.icmp_code !== undefined) m.icmpCode = r.icmp_code;
  if (r["!icmp_code"] !== undefined) m.notIcmpCode = r["!icmp_code"];
  if (r.ip_version !== undefined) m.ipVersion = r.ip_version;
  return m;
}

/** A profile's rules for a direction, with calicoctl's defaults for an omitted list. */
function profileRules(p: CalicoProfile, index: number, dir: Direction): RuleList {
  const field = dir === "ingress" ? "inbound_rules" : "outbound_rules";
  const path = `profiles[${index}].${field}`;
  const written = p[field];
  if (written) return { rules: written, path };
  return dir === "ingress"
    ? { rules: [{ action: "allow", src_tag: p.id }], path, defaulted: `allow from tag ${p.id}` }
    : { rules: [{ action: "allow" }], path, defaulted: "allow" };
}

/** A policy's rules for a direction, or undefined when it lists none (it does not apply there). */
function policyRules(p: CalicoPolicy, index: number, dir: Direction): RuleList | undefined {
  const [v1, v3] = dir === "ingress" ? (["inbound_rules", "ingress"] as const) : (["outbound_rules", "egress"] as const);
  if (p[v1]) return { rules: p[v1], path: `policies[${index}].${v1}` };
  if (p[v3]) return { rules: p[v3], path: `policies[${index}].${v3}` };
  return undefined;
}

function irRules(list: RuleList, sets: CalicoSets): Rule[] {
  return list.rules.map((r, j) => ({
    match: ruleMatch(r, sets),
    action: irAction(r.action),
    origin: list.defaulted === undefined ? `${list.path}[${j}]` : `${list.path} (omitted; calicoctl's default: ${list.defaulted})`,
  }));
}

interface IndexedPolicy {
  policy: CalicoPolicy;
  index: number;
  ast: SelectorAst;
  rules: Record<Direction, Rule[] | undefined>;
}

/** `order` ascending, policies without an order after all ordered ones, then by name. */
function byOrderThenName(a: IndexedPolicy, b: IndexedPolicy): number {
  const oa = a.policy.order ?? Infinity;
  const ob = b.policy.order ?? Infinity;
  if (oa !== ob) return oa < ob ? -1 : 1;
  return a.policy.name < b.policy.name ? -1 : a.policy.name > b.policy.name ? 1 : 0;
}

export function compileCalico(ctx: CompileContext): Layer | undefined {
  const profileList = ctx.model.profiles ?? [];
  const policyList = ctx.model.policies ?? [];
  if (profileList.length === 0 && policyList.length === 0) return undefined;

  const profiles = new Map(profileList.map((p) => [p.id, p]));
  const sets = new CalicoSets(ctx, profiles);
  const profileTiers = new Map<string, Record<Direction, Rule[]>>(profileList.map((p, i) => [p.id, {
    ingress: irRules(profileRules(p, i, "ingress"), sets),
    egress: irRules(profileRules(p, i, "egress"), sets),
  }]));
  const policies: IndexedPolicy[] = policyList.map((policy, index) => {
    const rules = (dir: Direction) => {
      const list = policyRules(policy, index, dir);
      return list && irRules(list, sets);
    };
    return { policy, index, ast: sets.ast(policy.selector), rules: { ingress: rules("ingress"), egress: rules("egress") } };
  }).sort(byOrderThenName);

  const programByKey = new Map<string, string>();
  const program = (dir: Direction, applied: IndexedPolicy[], ids: readonly string[]): string => {
    const key = `${dir}|${applied.map((p) => p.index).join(",")}|${ids.join(",")}`;
    let id = programByKey.get(key);
    if (id === undefined) {
      id = ctx.builder.program({ tiers: tiersFor(dir, applied, ids, profileTiers) });
      programByKey.set(key, id);
    }
    return id;
  };

  const layer: Layer = {
    name: "calico",
    ingress: {},
    egress: {},
    ungoverned: {
      ingress: "not governed by Calico: the endpoint has no profile and no policy with inbound rules selects it",
      egress: "not governed by Calico: the endpoint has no profile and no policy with outbound rules selects it",
    },
  };
  for (const e of ctx.endpoints) {
    const labels = e.labels ?? {};
    const selecting = policies.filter((p) => matchesSelector(p.ast, labels));
    const ids = e.profiles ?? [];
    for (const dir of ["ingress", "egress"] as const) {
      const applied = selecting.filter((p) => p.rules[dir] !== undefined);
      if (applied.length === 0 && ids.length === 0) continue;
      layer[dir][e.name] = program(dir, applied, ids);
    }
  }
  return layer;
}

function tiersFor(dir: Direction, applied: IndexedPolicy[], ids: readonly string[],
  profileTiers: ReadonlyMap<string, Record<Direction, Rule[]>>): Tier[] {
  const tiers: Tier[] = [];
  if (applied.length > 0) {
    const names = applied.map((p) => p.policy.name).join(", ");
    tiers.push({
      name: "calico policies",
      rules: applied.flatMap((p) => p.rules[dir] ?? []),
      end: "deny",
      endOrigin: ids.length > 0 ? `no ${WORD[dir]} policy rule allows (policies: ${names})`
        : `no ${WORD[dir]} policy rule allows and the endpoint has no profiles (policies: ${names})`,
    });
  }
  ids.forEach((id, k) => {
    const rules = profileTiers.get(id);
    if (!rules) throw new Error(`profile "${id}" is not defined`);
    const last = k === ids.length - 1;
    tiers.push({
      name: `profile ${id}`,
      rules: rules[dir],
      end: last ? "deny" : "next",
      endOrigin: last ? `no profile allows ${WORD[dir]} (profiles: ${ids.join(", ")})` : `profile ${id}: no ${WORD[dir]} rule decided; next profile`,
    });
  });
  return tiers;
}
