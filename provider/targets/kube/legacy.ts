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
import { checkNamespace } from './resources';

/** Name of the NetworkPolicy that stands for `DefaultDeny`. */
export const DEFAULT_DENY_POLICY_NAME = 'default-deny-ingress';

/** Annotation key of the legacy isolation setting on a Namespace. */
export const LEGACY_ISOLATION_ANNOTATION = 'net.beta.kubernetes.io/network-policy';

/**
 * The `networking.k8s.io/v1` NetworkPolicy equivalent to `DefaultDeny` ingress isolation of
 * `namespace`: selects every pod, allows no ingress.
 */
export function defaultDenyPolicyFor(namespace: string): {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string };
  spec: { podSelector: Record<string, never>; policyTypes: ['Ingress'] };
} {
  checkNamespace(namespace, 'default-deny policy');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: DEFAULT_DENY_POLICY_NAME, namespace },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  };
}

/**
 * The legacy annotation as the seed writes it: key `net.beta.kubernetes.io/network-policy`,
 * value the compact JSON `{"ingress":{"isolation":"DefaultDeny"}}`.
 */
export function legacyIsolationAnnotation(): { key: string; value: string } {
  return { key: LEGACY_ISOLATION_ANNOTATION, value: JSON.stringify({ ingress: { isolation: 'DefaultDeny' } }) };
}
