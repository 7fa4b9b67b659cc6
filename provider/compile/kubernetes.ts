/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1; extensions/v1beta1 converted) → the `kubernetes`
 * layer.
 *
 * A pod (an endpoint with a namespace) selected by at least one policy whose policyTypes hold a
 * direction is isolated in that direction; it then accepts (ingress) or opens (egress) exactly the
 * union of those policies' rules: one tier of `allow` rules ending in deny. A pod no policy selects
 * is not governed. A namespace with the legacy `isolation: DefaultDeny` isolates every one of its
 * pods for ingress; policies' rules then add on top.
 *
 * Inside a rule, peers are ORed, ports are ORed, and peer AND port must both hold; an omitted or
 * empty `from`/`to` is every address, omitted or empty `ports` every port and protocol. Each
 * (peer × port) becomes one IR rule whose origin is the peer's (or port's) property path.
 * Named ports resolve on the destination: for ingress on the isolated pod itself, for egress on
 * each destination, so an egress named port becomes one rule per distinct number it resolves to.
 *
 * policyTypes, when omitted or empty, default to Ingress, plus Egress when `spec.egress` is a
 * non-empty list (as the API server defaults them: `egress: []` isolates nothing).
 */
import { Endpoint } from "../model/inventory";
import { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, toNetworkingV1 } from "../model/kubernetes";
import { CompileContext } from "./context";
import { Direction, Layer, Match, Rule } from "../ir";
import { namedPort, PeerResolver, PROTOCOL_NUMBER } from "./kubernetes-peers";

/** One policy as the compiler sees it: v1 form, its namespace and effective policyTypes. */
interface PolicyEntry {
  /** Index in `networkPolicies`, for origins. */
  index: number;
  policy: NetworkPolicy;
  namespace: string;
  isolates: Record<Direction, boolean>;
  /** Whether an ingress rule names a port by name (then the program depends on the pod's ports). */
  namedIngressPort: boolean;
  /** `networkPolicies[3] (prod/allow-web)`, for explanations. */
  label: string;
}

/** The policies that select a pod in one direction, in model order, and what its program is keyed by. */
interface Selection {
  policies: PolicyEntry[];
  /** Their indexes, each followed by a comma. */
  key: string;
  /** Whether one of them allows ingress to a named port (which each pod resolves itself). */
  namedPort: boolean;
}

const noSelection = (): Selection => ({ policies: [], key: "", namedPort: false });

/** A source or destination alternative of one rule: its address condition and where it was written. */
interface PeerChoice {
  peer?: NetworkPolicyPeer;
  origin: string;
}

/** Policy types as the API server defaults them. */
export function effectivePolicyTypes(p: NetworkPolicy): Record<Direction, boolean> {
  const types = p.spec.policyTypes ?? [];
  // As the API server's SetDefaults_NetworkPolicy: Egress only when the egress list is non-empty.
  if (types.length === 0) return { ingress: true, egress: (p.spec.egress ?? []).length > 0 };
  return { ingress: types.includes("Ingress"), egress: types.includes("Egress") };
}

function policyEntry(doc: NetworkPolicy, index: number): PolicyEntry {
  const policy = toNetworkingV1(doc);
  const namespace = policy.metadata.namespace ?? "default";
  return {
    index,
    policy,
    namespace,
    isolates: effectivePolicyTypes(policy),
    namedIngressPort: (policy.spec.ingress ?? []).some((r) => (r.ports ?? []).some((p) => typeof p.port === "string")),
    label: `networkPolicies[${index}] (${namespace}/${policy.metadata.name})`,
  };
}

/** `from` / `to` alternatives; omitted or empty: one alternative without an address condition. */
function peerChoices(peers: readonly NetworkPolicyPeer[] | undefined, rulePath: string, field: "from" | "to"): PeerChoice[] {
  if (!peers || peers.length === 0) return [{ origin: rulePath }];
  return peers.map((peer, k) => ({ peer, origin: `${rulePath}.${field}[${k}]` }));
}

/** A numeric (or protocol-only) port entry as match fields; named ports are resolved by the caller. */
function numericPort(port: NetworkPolicyPort, number: number | undefined): Match {
  const protocol = PROTOCOL_NUMBER[port.protocol ?? "TCP"];
  if (number === undefined) return { protocol };
  return { protocol, dstPorts: [{ from: number, to: port.endPort ?? number }] };
}

class KubernetesCompiler {
  private readonly peers: PeerResolver;
  private readonly programs = new Map<string, string>();

  constructor(private readonly ctx: CompileContext) {
    this.peers = new PeerResolver(ctx);
  }

  /** The ingress rules `p` contributes for destination pod `dest`. */
  ingressRules(p: PolicyEntry, dest: Endpoint): Rule[] {
    const rules: Rule[] = [];
    (p.policy.spec.ingress ?? []).forEach((rule, r) => {
      const path = `networkPolicies[${p.index}].spec.ingress[${r}]`;
      for (const source of peerChoices(rule.from, path, "from")) {
        const src: Match = source.peer ? { src: [{ set: this.peers.peerSet(source.peer, p.namespace) }] } : {};
        const ports = rule.ports ?? [];
        if (ports.length === 0) rules.push({ match: src, action: "allow", origin: source.origin });
        ports.forEach((port, j) => {
          const origin = source.peer ? source.origin : `${path}.ports[${j}]`;
          if (typeof port.port !== "string") {
            rules.push({ match: { ...src, ...numericPort(port, port.port) }, action: "allow", origin });
            return;
          }
          // A named port the destination does not carry (with that protocol) allows nothing here.
          const number = namedPort(dest, port.port, port.protocol ?? "TCP");
          if (number !== undefined) rules.push({ match: { ...src, ...numericPort(port, number) }, action: "allow", origin });
        });
      }
    });
    return rules;
  }

  /** The egress rules `p` contributes for any source pod (they do not depend on the source). */
  egressRules(p: PolicyEntry): Rule[] {
    const rules: Rule[] = [];
    (p.policy.spec.egress ?? []).forEach((rule, r) => {
      const path = `networkPolicies[${p.index}].spec.egress[${r}]`;
      for (const target of peerChoices(rule.to, path, "to")) {
        const dst: Match = target.peer ? { dst: [{ set: this.peers.peerSet(target.peer, p.namespace) }] } : {};
        const ports = rule.ports ?? [];
        if (ports.length === 0) rules.push({ match: dst, action: "allow", origin: target.origin });
        ports.forEach((port, j) => {
          const origin = target.peer ? target.origin : `${path}.ports[${j}]`;
          if (typeof port.port !== "string") {
            rules.push({ match: { ...dst, ...numericPort(port, port.port) }, action: "allow", origin });
            return;
          }
          // Each destination resolves the name itself: one rule per number, aimed at those carrying it.
          for (const t of this.peers.namedPortTargets(target.peer, p.namespace, port.port, port.protocol ?? "TCP")) {
            rules.push({ match: { dst: [{ set: t.set }], ...numericPort(port, t.port) }, action: "allow", origin });
          }
        });
      }
    });
    return rules;
  }

  /**
   * The program of an isolated pod: one tier, the union of the selecting policies' rules, then deny.
   * Memoized by what it depends on, so pods under the same policies share the work and the id.
   */
  program(direction: Direction, pod: Endpoint, selection: Selection, defaultDeny: string | undefined): string {
    const { policies } = selection;
    const podPorts = direction === "ingress" && selection.namedPort ? JSON.stringify(pod.ports ?? []) : "";
    const key = `${direction}|${selection.key}|${defaultDeny ?? ""}|${podPorts}`;
    let id = this.programs.get(key);
    if (id === undefined) {
      const rules = policies.flatMap((p) => (direction === "ingress" ? this.ingressRules(p, pod) : this.egressRules(p)));
      const by = [...(defaultDeny ? [defaultDeny] : []), ...policies.map((p) => p.label)];
      const shown = by.length > 4 ? [...by.slice(0, 3), `${by.length - 3} more`] : by;
      id = this.ctx.builder.program({
        tiers: [{
          name: "kubernetes network policies",
          rules,
          end: "deny",
          endOrigin: `isolated for ${direction} by ${shown.join(", ")}; no rule allows`,
        }],
      });
      this.programs.set(key, id);
    }
    return id;
  }

  compile(): Layer {
    const policies = (this.ctx.model.networkPolicies ?? []).map(policyEntry);
    const selecting = new Map<string, Record<Direction, Selection>>();
    const add = (to: Selection, p: PolicyEntry) => {
      to.policies.push(p);
      to.key += `${p.index},`;
      to.namedPort ||= p.namedIngressPort;
    };
    for (const p of policies) {
      if (!p.isolates.ingress && !p.isolates.egress) continue;
      for (const pod of this.peers.podsSelected(p.namespace, p.policy.spec.podSelector)) {
        let entry = selecting.get(pod.name);
        if (!entry) {
          entry = { ingress: noSelection(), egress: noSelection() };
          selecting.set(pod.name, entry);
        }
        if (p.isolates.ingress) add(entry.ingress, p);
        if (p.isolates.egress) add(entry.egress, p);
      }
    }
    const defaultDeny = new Map<string, string>();
    (this.ctx.model.namespaces ?? []).forEach((n, i) => {
      if (n.isolation === "DefaultDeny") defaultDeny.set(n.name, `namespaces[${i}].isolation (DefaultDeny)`);
    });

    const ingress: Record<string, string> = {};
    const egress: Record<string, string> = {};
    const none: Record<Direction, Selection> = { ingress: noSelection(), egress: noSelection() };
    for (const pod of this.ctx.endpoints) {
      if (pod.namespace === undefined) continue;
      const sel = selecting.get(pod.name) ?? none;
      const deny = defaultDeny.get(pod.namespace);
      if (sel.ingress.policies.length > 0 || deny !== undefined) ingress[pod.name] = this.program("ingress", pod, sel.ingress, deny);
      if (sel.egress.policies.length > 0) egress[pod.name] = this.program("egress", pod, sel.egress, undefined);
    }
    return {
      name: "kubernetes",
      ingress,
      egress,
      ungoverned: {
        ingress: "no NetworkPolicy isolates this endpoint for ingress (and its namespace is not DefaultDeny)",
        egress: "no NetworkPolicy isolates this endpoint for egress",
      },
    };
  }
}

export function compileKubernetes(ctx: CompileContext): Layer | undefined {
  const isolated = (ctx.model.namespaces ?? []).some((n) => n.isolation === "DefaultDeny");
  if ((ctx.model.networkPolicies ?? []).length === 0 && !isolated) return undefined;
  return new KubernetesCompiler(ctx).compile();
}
