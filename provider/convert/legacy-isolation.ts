/**
 * The seed's legacy namespace isolation (`net.beta.kubernetes.io/network-policy` annotation with
 * `{"ingress":{"isolation":"DefaultDeny"}}`, from the `extensions/v1beta1` era) and its
 * `networking.k8s.io/v1` equivalent.
 *
 * Current clusters ignore the annotation; the same effect — every pod of the namespace isolated
 * for ingress, nothing allowed unless another policy allows it — is a NetworkPolicy that selects
 * all pods (`podSelector: {}`) with `policyTypes: [Ingress]` and no ingress rules. Its name,
 * `default-deny-ingress`, is the one the Kubernetes documentation uses ("Default policies").
 */
import { InputError } from "../model/errors";

/** Name of the NetworkPolicy that stands for `DefaultDeny`. */
export const DEFAULT_DENY_POLICY_NAME = "default-deny-ingress";

/** Annotation key of the legacy isolation setting on a Namespace. */
export const LEGACY_ISOLATION_ANNOTATION = "net.beta.kubernetes.io/network-policy";

/** DNS-1123 label: what Kubernetes accepts as a namespace name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The `networking.k8s.io/v1` NetworkPolicy equivalent to `DefaultDeny` ingress isolation of
 * `namespace`: selects every pod, allows no ingress. Throws `InputError` for a name that is not a
 * namespace name (the model's schema already refuses those; this keeps the function safe alone).
 */
export function defaultDenyPolicyFor(namespace: string): {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string };
  spec: { podSelector: Record<string, never>; policyTypes: ["Ingress"] };
} {
  if (namespace.length === 0 || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new InputError("default-deny policy", [{
      path: "",
      message: `namespace "${namespace}" is not a valid namespace name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
    }]);
  }
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: DEFAULT_DENY_POLICY_NAME, namespace },
    spec: { podSelector: {}, policyTypes: ["Ingress"] },
  };
}

/**
 * The legacy annotation as the seed writes it: key `net.beta.kubernetes.io/network-policy`,
 * value the compact JSON `{"ingress":{"isolation":"DefaultDeny"}}`.
 */
export function legacyIsolationAnnotation(): { key: string; value: string } {
  return { key: LEGACY_ISOLATION_ANNOTATION, value: JSON.stringify({ ingress: { isolation: "DefaultDeny" } }) };
}
