/**
 * Warnings for parts of a policy that do nothing in this model: a selector, tag or label key no
 * endpoint matches, a profile no endpoint uses. They are not errors (a model may describe part of
 * a fleet, or a policy written ahead of its workloads), but a typo like `tier = wbe` makes a rule
 * match nothing, as silently as a typo in a field name would, so `validate`, `plan` and the
 * Network's `check` say so, naming the path.
 */
import { CalicoRule } from "../model/calico";
import type { InputIssue } from "../model/errors";
import { Endpoint } from "../model/inventory";
import { NetworkPolicyPeer, toNetworkingV1 } from "../model/kubernetes";
import { Model } from "../model/model";
import { RancherRule } from "../model/rancher";
import { LabelSelector, matchesLabelSelector, matchesSelector, parseCalicoSelector, parseStringSelector } from "../model/selectors";
import { createContext } from "./context";
import { PeerResolver } from "./kubernetes-peers";

/** A part of the model that has no effect: where it is, and why. */
export type ModelWarning = InputIssue;

const quote = (s: string) => JSON.stringify(s);

function rancherWarnings(model: Model, endpoints: readonly Endpoint[]): ModelWarning[] {
  const matchesNone = (text: string) => {
    const sel: LabelSelector = parseStringSelector(text);
    return !endpoints.some((e) => matchesLabelSelector(sel, e.labels ?? {}));
  };
  const out: ModelWarning[] = [];
  (model.network?.policy ?? []).forEach((rule: RancherRule, i) => {
    const at = `network.policy[${i}]`;
    if ("between" in rule) {
      if ("groupBy" in rule.between) {
        const key = rule.between.groupBy;
        if (!endpoints.some((e) => e.labels?.[key] !== undefined)) {
          out.push({ path: `${at}.between.groupBy`, message: `no endpoint has the label ${quote(key)}, so the rule never applies` });
        }
      } else if (matchesNone(rule.between.selector)) {
        out.push({ path: `${at}.between.selector`, message: `${quote(rule.between.selector)} matches no endpoint, so the rule never applies` });
      }
    } else if (!("within" in rule)) {
      for (const side of ["from", "to"] as const) {
        const sel = rule[side]?.selector;
        if (sel !== undefined && matchesNone(sel)) {
          out.push({ path: `${at}.${side}.selector`, message: `${quote(sel)} matches no endpoint, so the rule never applies` });
        }
      }
    }
  });
  return out;
}

const TAG_FIELDS = ["src_tag", "dst_tag", "!src_tag", "!dst_tag"] as const;
const SELECTOR_FIELDS = ["src_selector", "dst_selector", "!src_selector", "!dst_selector"] as const;

function calicoWarnings(model: Model, endpoints: readonly Endpoint[]): ModelWarning[] {
  const profiles = model.profiles ?? [];
  const used = new Set(endpoints.flatMap((e) => e.profiles ?? []));
  const tagsOf = new Map(profiles.map((p) => [p.id, p.tags ?? [p.id]]));
  const carried = new Set(endpoints.flatMap((e) => (e.profiles ?? []).flatMap((id) => tagsOf.get(id) ?? [])));
  const selects = (text: string) => {
    const ast = parseCalicoSelector(text);
    return endpoints.some((e) => matchesSelector(ast, e.labels ?? {}));
  };
  const fieldPath = (at: string, j: number, f: string) => `${at}[${j}]${f.startsWith("!") ? `[${quote(f)}]` : `.${f}`}`;
  const effect = (field: string, rule: string) => (field.startsWith("!") ? "the negation excludes nothing" : `the ${rule} never matches`);
  const ruleWarnings = (rules: readonly CalicoRule[] | undefined, at: string): ModelWarning[] => (rules ?? []).flatMap((r, j) => [
    ...TAG_FIELDS.flatMap((f) => {
      const tag = r[f];
      return tag !== undefined && !carried.has(tag)
        ? [{ path: fieldPath(at, j, f), message: `no endpoint carries the tag ${quote(tag)} (through its profiles), so ${effect(f, "rule")}` }] : [];
    }),
    ...SELECTOR_FIELDS.flatMap((f) => {
      const sel = r[f];
      return sel !== undefined && !selects(sel)
        ? [{ path: fieldPath(at, j, f), message: `${quote(sel)} matches no endpoint, so ${effect(f, "rule")}` }] : [];
    }),
  ]);
  const out: ModelWarning[] = [];
  profiles.forEach((p, i) => {
    if (!used.has(p.id)) {
      out.push({ path: `profiles[${i}]`, message: `no endpoint lists the profile ${quote(p.id)} in its profiles, so its rules apply nowhere` });
      return;
    }
    out.push(...ruleWarnings(p.inbound_rules, `profiles[${i}].inbound_rules`), ...ruleWarnings(p.outbound_rules, `profiles[${i}].outbound_rules`));
  });
  (model.policies ?? []).forEach((p, i) => {
    if (!selects(p.selector)) {
      out.push({ path: `policies[${i}].selector`, message: `${quote(p.selector)} matches no endpoint, so the policy applies nowhere` });
      return;
    }
    for (const field of ["inbound_rules", "outbound_rules", "ingress", "egress"] as const) out.push(...ruleWarnings(p[field], `policies[${i}].${field}`));
  });
  return out;
}

function kubernetesWarnings(model: Model): ModelWarning[] {
  const peers = new PeerResolver(createContext(model));
  const inNamespaces = (names: readonly string[]) => (names.length === 1 ? `namespace ${quote(names[0])}` : `namespaces ${names.map(quote).join(", ")}`);
  const out: ModelWarning[] = [];
  (model.networkPolicies ?? []).forEach((doc, i) => {
    const p = toNetworkingV1(doc);
    const namespace = p.metadata.namespace ?? "default";
    const at = `networkPolicies[${i}].spec`;
    if (peers.podsSelected(namespace, p.spec.podSelector).length === 0) {
      out.push({ path: `${at}.podSelector`, message: `matches no endpoint in ${inNamespaces([namespace])}, so the policy applies to nothing` });
      return;
    }
    const peerWarnings = (list: readonly NetworkPolicyPeer[] | undefined, where: string) => (list ?? []).forEach((peer, k) => {
      const path = `${where}[${k}]`;
      if (peer.ipBlock) return;
      const pods = peer.podSelector ?? {};
      if (!peer.namespaceSelector) {
        if (peers.podsSelected(namespace, pods).length === 0) {
          out.push({ path: `${path}.podSelector`, message: `matches no endpoint in ${inNamespaces([namespace])}, so this peer admits nothing` });
        }
        return;
      }
      const namespaces = peers.namespacesSelected(peer.namespaceSelector);
      if (namespaces.length === 0) {
        out.push({ path: `${path}.namespaceSelector`, message: "matches no namespace, so this peer admits nothing" });
      } else if (peers.peerPods(peer, namespace).length === 0) {
        out.push(peer.podSelector
          ? { path: `${path}.podSelector`, message: `matches no endpoint in ${inNamespaces(namespaces)} (the namespaceSelector's), so this peer admits nothing` }
          : { path: `${path}.namespaceSelector`, message: `matches ${inNamespaces(namespaces)}, which ${namespaces.length === 1 ? "holds" : "hold"} no endpoint, so this peer admits nothing` });
      }
    });
    (p.spec.ingress ?? []).forEach((r, j) => peerWarnings(r.from, `${at}.ingress[${j}].from`));
    (p.spec.egress ?? []).forEach((r, j) => peerWarnings(r.to, `${at}.egress[${j}].to`));
  });
  return out;
}

/**
 * Every part of the model's policies that matches nothing, in model order by dialect. A model
 * that lists no endpoints (one that only writes policies to a cluster, say) describes no
 * workloads to match, so it gets none.
 */
export function modelWarnings(model: Model): ModelWarning[] {
  const endpoints = model.endpoints ?? [];
  if (endpoints.length === 0) return [];
  return [...rancherWarnings(model, endpoints), ...calicoWarnings(model, endpoints), ...kubernetesWarnings(model)];
}
