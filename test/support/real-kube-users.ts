/**
 * More credentials on a real API server (real-kube-apiserver.ts) than its token file's three users:
 * a ServiceAccount token from the TokenRequest API (what `kubectl create token` prints), and the
 * test PKI's client certificate. Both are made by `admin` through the API; a token file cannot
 * change while the server runs.
 */
import type { RealKubeApiServer } from './real-kube-apiserver';

/** POSTs each object as admin; anything but 201 Created fails. */
export async function createAll(server: RealKubeApiServer, objects: readonly [collection: string, body: unknown][]): Promise<void> {
  for (const [collection, body] of objects) {
    const answer = await server.request('POST', collection, body);
    if (answer.status !== 201) throw new Error(`POST ${collection}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
}

/** Grants a cluster role (e.g. the bootstrap `cluster-admin`) to a user, group or ServiceAccount. */
export async function bindClusterRole(server: RealKubeApiServer, role: string, subject: { kind: 'User' | 'Group'; name: string } | { kind: 'ServiceAccount'; name: string; namespace: string }): Promise<void> {
  const name = `${role}-${subject.kind.toLowerCase()}-${subject.name}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  const apiGroup = subject.kind === 'ServiceAccount' ? {} : { apiGroup: 'rbac.authorization.k8s.io' };
  await createAll(server, [['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ ...subject, ...apiGroup }],
  }]]);
}

/** Creates the ServiceAccount `namespace/name` (when `create`) and returns a fresh token of it, valid for an hour. */
export async function serviceAccountToken(server: RealKubeApiServer, namespace: string, name: string, options: { create?: boolean } = {}): Promise<string> {
  if (options.create ?? true) {
    await createAll(server, [[`/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }]]);
  }
  const answer = await server.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
  });
  const token: unknown = answer.body?.status?.token;
  if (answer.status !== 201 || typeof token !== 'string') throw new Error(`TokenRequest for ${namespace}/${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return token;
}

/**
 * A kubeconfig that authenticates with the test PKI's client certificate (user `alice`, group
 * `netpol-testers`: bind one of them to give it rights) instead of a token.
 */
export function clientCertificateKubeconfig(server: RealKubeApiServer): string {
  const config = JSON.parse(server.kubeconfig({ user: null }));
  config.users[0].user = {
    'client-certificate-data': Buffer.from(server.pki.clientCertPem).toString('base64'),
    'client-key-data': Buffer.from(server.pki.clientKeyPem).toString('base64'),
  };
  return JSON.stringify(config, null, 2);
}
