/**
 * The model's documents as the objects a cluster API takes: Kubernetes NetworkPolicies in
 * networking.k8s.io/v1 (extensions/v1beta1 converted; a namespace's legacy DefaultDeny as the
 * equivalent default-deny policy, or the legacy annotation when asked) and Calico v3 resources.
 */
import { Model } from "../model/model";
import { toNetworkingV1 } from "../model/kubernetes";
import { defaultDenyPolicyFor, legacyIsolationAnnotation } from "./legacy-isolation";
import { policyToV3, profileToV3 } from "./calico-v3";

export type ClusterObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;

export interface ConvertOptions {
  /** Write `net.beta.kubernetes.io/network-policy` on Namespaces instead of default-deny policies. */
  legacyIsolationAnnotation?: boolean;
}

export function clusterObjects(model: Model, opts: ConvertOptions = {}): ClusterObject[] {
  const out: ClusterObject[] = [];
  for (const ns of model.namespaces ?? []) {
    if (ns.isolation !== "DefaultDeny") continue;
    if (opts.legacyIsolationAnnotation) {
      const a = legacyIsolationAnnotation();
      out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name, annotations: { [a.key]: a.value } } });
    } else {
      out.push(defaultDenyPolicyFor(ns.name));
    }
  }
  for (const np of model.networkPolicies ?? []) {
    const v1 = toNetworkingV1(np);
    out.push({ ...v1, metadata: { ...v1.metadata, namespace: v1.metadata.namespace ?? "default" } });
  }
  for (const p of model.profiles ?? []) out.push({ ...profileToV3(p) });
  for (const p of model.policies ?? []) out.push({ ...policyToV3(p) });
  return out;
}
