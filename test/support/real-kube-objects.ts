/** The objects and policy a real API server (real-kube-apiserver.ts) starts with: its audit policy, the reader's role and binding, and the CRDs standing in for Calico's API server. */

/** Every request at Metadata level, once complete. */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

export const CALICO_KINDS = [
  { kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', scope: 'Cluster' },
  { kind: 'NetworkPolicy', plural: 'networkpolicies', scope: 'Namespaced' },
  { kind: 'Profile', plural: 'profiles', scope: 'Cluster' },
];

/** CustomResourceDefinitions standing in for the Calico API server's projectcalico.org/v3 kinds. */
export function calicoDefinitions(): unknown[] {
  return CALICO_KINDS.map(({ kind, plural, scope }) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.projectcalico.org` },
    spec: {
      group: 'projectcalico.org',
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{
        name: 'v3', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      }],
    },
  }));
}

export const READER_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'netpol-reader' },
  rules: [
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['projectcalico.org'], resources: ['globalnetworkpolicies', 'networkpolicies', 'profiles'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  ],
};

export const READER_BINDING = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'netpol-reader' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-reader' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'reader' }],
};
