/**
 * Who a Kubernetes NetworkPolicy selects and names as a peer, evaluated against the inventory once
 * per distinct selector:
 * - pods are the endpoints with a `namespace`; endpoints without one are never selected by a
 *   podSelector or namespaceSelector (only an ipBlock can match their addresses);
 * - a namespace's labels are its `namespaces[]` labels plus `kubernetes.io/metadata.name: <name>`,
 *   which real clusters put on every namespace (a namespace not listed has only that label);
 * - named ports resolve on the pod that carries them, by name and protocol.
 */
import { ProtocolName } from "../model/common";
import { Endpoint } from "../model/inventory";
import { NetworkPolicyPeer } from "../model/kubernetes";
import { CompileContext } from "./context";
import { PROTO } from "../ir";
import { LabelSelector, labelSelectorText, Labels, matchesLabelSelector } from "../model/selectors";

/** The label every namespace carries in a real cluster (Kubernetes 1.21+). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export const PROTOCOL_NUMBER: Record<ProtocolName, number> = { TCP: PROTO.tcp, UDP: PROTO.udp, SCTP: PROTO.sctp };

/** The number a pod's named port stands for, matched by name and protocol. */
export function namedPort(pod: Endpoint, name: string, protocol: ProtocolName): number | undefined {
  return (pod.ports ?? []).find((p) => p.name === name && (p.protocol ?? "TCP") === protocol)?.port;
}

/** Where an egress rule's named port leads: per resolved number, the set of destinations with it. */
export interface NamedPortTarget {
  port: number;
  set: string;
}

export class PeerResolver {
  private readonly podsByNamespace = new Map<string, Endpoint[]>();
  /** namespace → key → value → pods carrying that label: narrows matchLabels before filtering. */
  private readonly podsByLabel = new Map<string, Map<string, Map<string, Endpoint[]>>>();
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly selections = new Map<string, readonly Endpoint[]>();
  private readonly namedTargets = new Map<string, NamedPortTarget[]>();

  constructor(private readonly ctx: CompileContext) {
    for (const e of ctx.endpoints) {
      if (e.namespace === undefined) continue;
      push(this.podsByNamespace, e.namespace, e);
      let byLabel = this.podsByLabel.get(e.namespace);
      if (!byLabel) {
        byLabel = new Map();
        this.podsByLabel.set(e.namespace, byLabel);
      }
      const labels = e.labels ?? {};
      for (const k in labels) {
        let byValue = byLabel.get(k);
        if (!byValue) byLabel.set(k, (byValue = new Map()));
        push(byValue, labels[k], e);
      }
    }
    const names = new Set([...ctx.namespaceByName.keys(), ...this.podsByNamespace.keys()]);
    for (const name of [...names].sort()) {
      const declared = ctx.namespaceByName.get(name)?.labels ?? {};
      this.namespaceLabels.set(name, { ...declared, [NAMESPACE_NAME_LABEL]: name });
    }
  }

  /** Pods of `namespace` that `selector` selects (`{}`: all of them), in model order. */
  podsSelected(namespace: string, selector: LabelSelector): readonly Endpoint[] {
    return this.memo(`pods:${namespace}:${JSON.stringify(selector)}`, () => {
      // Start from the fewest pods that can match (those with one required label: a matchLabels
      // entry, or an `In` of one value), then filter.
      let candidates = this.podsByNamespace.get(namespace) ?? [];
      const byLabel = this.podsByLabel.get(namespace);
      const required: [string, string][] = Object.entries(selector.matchLabels ?? {});
      for (const e of selector.matchExpressions ?? []) {
        if (e.operator === "In" && e.values?.length === 1) required.push([e.key, e.values[0]]);
      }
      for (const [k, v] of required) {
        const carrying = byLabel?.get(k)?.get(v) ?? [];
        if (carrying.length < candidates.length) candidates = carrying;
      }
      return candidates.filter((e) => matchesLabelSelector(selector, e.labels ?? {}));
    });
  }

  /**
   * The pods a podSelector / namespaceSelector peer names: podSelector alone looks in the policy's
   * namespace; namespaceSelector alone takes every pod of the matching namespaces; both: AND.
   * An ipBlock peer names no pods (it matches addresses).
   */
  peerPods(peer: NetworkPolicyPeer, policyNamespace: string): readonly Endpoint[] {
    if (peer.ipBlock) return [];
    const podSelector = peer.podSelector ?? {};
    if (!peer.namespaceSelector) return this.podsSelected(policyNamespace, podSelector);
    const nsSelector = peer.namespaceSelector;
    return this.memo(`peer:${JSON.stringify(nsSelector)}:${JSON.stringify(podSelector)}`, () => {
      const out: Endpoint[] = [];
      for (const [ns, labels] of this.namespaceLabels) {
        if (matchesLabelSelector(nsSelector, labels)) out.push(...this.podsSelected(ns, podSelector));
      }
      return out;
    });
  }

  /** The namespaces (declared or holding a pod) whose labels `selector` matches, sorted by name. */
  namespacesSelected(selector: LabelSelector): string[] {
    return [...this.namespaceLabels].filter(([, labels]) => matchesLabelSelector(selector, labels)).map(([name]) => name);
  }

  /** The address set of a peer: an ipBlock's nets, or the peer's pods. */
  peerSet(peer: NetworkPolicyPeer, policyNamespace: string): string {
    const b = this.ctx.builder;
    if (peer.ipBlock) {
      const { cidr, except } = peer.ipBlock;
      return b.netSet(cidr, except ?? []);
    }
    return b.namedEndpointSet(`k8s-peer:${this.peerKey(peer, policyNamespace)}`, peerPurpose(peer, policyNamespace),
      () => this.peerPods(peer, policyNamespace).map((e) => e.name));
  }

  /**
   * For an egress named port: the peer's members split by the number the name resolves to on each
   * of them, sorted by port. `peer` undefined (a rule without `to`) means every endpoint. An ipBlock
   * carries no port names, so it yields nothing.
   */
  namedPortTargets(peer: NetworkPolicyPeer | undefined, policyNamespace: string, name: string, protocol: ProtocolName): NamedPortTarget[] {
    if (peer?.ipBlock) return [];
    const key = `${peer ? this.peerKey(peer, policyNamespace) : "*"}:${protocol}/${name}`;
    let targets = this.namedTargets.get(key);
    if (targets === undefined) {
      const members = peer ? this.peerPods(peer, policyNamespace) : this.ctx.endpoints;
      const byPort = new Map<number, string[]>();
      for (const e of members) {
        const port = namedPort(e, name, protocol);
        if (port !== undefined) push(byPort, port, e.name);
      }
      targets = [...byPort].sort(([a], [b]) => a - b)
        .map(([port, names]) => ({
          port,
          set: this.ctx.builder.namedEndpointSet(`k8s-named-port:${key}=${port}`,
            `${peer ? peerPurpose(peer, policyNamespace) : "all pods"} whose port ${name}/${protocol} is ${port}`, () => names),
        }));
      this.namedTargets.set(key, targets);
    }
    return targets;
  }

  /** Keys a pod peer by what it depends on: the policy's namespace only matters without a namespaceSelector. */
  private peerKey(peer: NetworkPolicyPeer, policyNamespace: string): string {
    return peer.namespaceSelector
      ? `ns=${JSON.stringify(peer.namespaceSelector)}:pods=${JSON.stringify(peer.podSelector ?? {})}`
      : `in=${policyNamespace}:pods=${JSON.stringify(peer.podSelector ?? {})}`;
  }

  private memo(key: string, compute: () => readonly Endpoint[]): readonly Endpoint[] {
    let pods = this.selections.get(key);
    if (pods === undefined) {
      pods = compute();
      this.selections.set(key, pods);
    }
    return pods;
  }
}

/** A pod peer in the model's words: `pods app=db in namespace shop`, `all pods in namespaces team=a`. */
function peerPurpose(peer: NetworkPolicyPeer, policyNamespace: string): string {
  const pods = peer.podSelector && labelSelectorText(peer.podSelector) !== "all" ? `pods ${labelSelectorText(peer.podSelector)}` : "all pods";
  if (!peer.namespaceSelector) return `${pods} in namespace ${policyNamespace}`;
  const namespaces = labelSelectorText(peer.namespaceSelector);
  return namespaces === "all" ? `${pods} in all namespaces` : `${pods} in namespaces ${namespaces}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
