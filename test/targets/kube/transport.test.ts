/**
 * The transport as the client uses it, against a real kube-apiserver
 * (test/support/real-kube-apiserver.ts): TLS, credentials and RBAC, a refused connection, and the
 * errors that name what failed. Retries of answers a real server cannot be made to give (429, 5xx,
 * resets, late answers) are in transport-faults.test.ts.
 */
import * as net from 'net';
import { KubeClient, KubeClientOptions } from '../../../provider/targets/kube/client';
import { ApiError } from '../../../provider/targets/api-errors';
import { describeWithRealKube, realKubeForSuite, RealKubeconfigOptions } from '../../support/real-kube-apiserver';

const FAST: KubeClientOptions = { baseDelayMs: 5 };
const NP_REF = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default' };

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail, it succeeded');
  return outcome;
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describeWithRealKube('the transport against a real API server', () => {
  const kube = realKubeForSuite({ client: FAST });

  describe('TLS, authentication and authorization', () => {
    const forbidden = (user: string, verb = 'get') =>
      new RegExp(`^networking\\.k8s\\.io/v1 NetworkPolicy default/probe: 403 Forbidden: networkpolicies\\.networking\\.k8s\\.io "probe" is forbidden: User "${user}" cannot ${verb} resource "networkpolicies" in API group "networking\\.k8s\\.io" in the namespace "default" — user "test-user" \\(context "test"\\) lacks the RBAC permission for this$`);
    const cases: Array<{ name: string; config: RealKubeconfigOptions; user?: string; error?: RegExp; status?: number }> = [
      { name: 'token with CA data', config: {}, user: 'admin' },
      { name: 'token with CA file', config: { ca: 'file' }, user: 'admin' },
      { name: 'insecure-skip-tls-verify: true without CA', config: { ca: 'none', insecure: true }, user: 'admin' },
      { name: 'a user whose role may read', config: { user: 'reader' }, user: 'reader' },
      // The certificate authenticates "alice", who has no RBAC bindings: the 403 names her.
      { name: 'client certificate files, no token', config: { user: null, clientCert: 'file' }, status: 403, error: forbidden('alice') },
      { name: 'client certificate data, no token', config: { user: null, clientCert: 'data' }, status: 403, error: forbidden('alice') },
      { name: 'no CA and no insecure flag: server certificate rejected', config: { ca: 'none' }, error: /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \([A-Z_]+\); set certificate-authority\(-data\) of cluster "test-cluster"/ },
      { name: 'insecure-skip-tls-verify: "true" (string) is not honoured', config: { ca: 'none', insecure: 'true' }, error: /TLS verification .* failed/ },
      { name: 'insecure-skip-tls-verify: false is not honoured', config: { ca: 'none', insecure: false }, error: /TLS verification .* failed/ },
      { name: 'a bad token: 401 with the API message', config: { token: 'wrong-SECRET' }, status: 401, error: /^networking\.k8s\.io\/v1 NetworkPolicy default\/probe: 401 Unauthorized: Unauthorized — the API server did not accept the credentials of user "test-user" \(context "test"\); check its token or client certificate$/ },
      { name: 'no credentials: the anonymous user is forbidden', config: { user: null }, status: 403, error: forbidden('system:anonymous') },
      { name: 'a user without bindings: 403 with the API message', config: { user: 'nobody' }, status: 403, error: forbidden('nobody') },
    ];
    it.each(cases)('$name', async ({ config, user, error, status }) => {
      const client = await kube.connect(config);
      const before = await kube.requestCount();
      const read = client.get({ ...NP_REF, name: 'probe' });
      if (error === undefined) {
        await expect(read).resolves.toBeUndefined();
        expect((await kube.requestsSince(before)).map((request) => [request.user, request.verb, request.code])).toEqual([[user, 'get', 404]]);
        return;
      }
      const failure = await failureOf(read);
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure.message).toMatch(error);
      expect(failure.message).not.toContain('SECRET');
      if (status !== undefined) expect((failure as ApiError).status).toBe(status);
      expect((failure as ApiError).attempts).toBe(1);
    });

    it('a user whose role may read may not write: 403 naming the verb', async () => {
      const client = await kube.connect({ user: 'reader' });
      const failure = await failureOf(client.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'probe', namespace: 'default' }, spec: { podSelector: {} } }));
      expect(failure.message).toMatch(forbidden('reader', 'patch'));
    });
  });

  it('an unusable client key is reported as such, without key material', async () => {
    const config = JSON.parse(kube.server.kubeconfig({ user: null, clientCert: 'data' })) as { users: Array<{ user: Record<string, string> }> };
    config.users[0].user['client-key-data'] = Buffer.from('-----BEGIN EC PRIVATE KEY-----\nS0VZ-SECRET\n-----END EC PRIVATE KEY-----\n').toString('base64');
    const client = await KubeClient.connect({ inline: JSON.stringify(config), ...FAST });
    const failure = await failureOf(client.get({ ...NP_REF, name: 'probe' }));
    expect(failure.message).toMatch(/^networking\.k8s\.io\/v1 NetworkPolicy default\/probe: the TLS client credentials of user "test-user" could not be used \(ERR_OSSL_[A-Z_]+\); check client-certificate and client-key in the kubeconfig$/);
    expect(failure.message).not.toContain('SECRET');
  });

  it('retries a refused connection, then names the server', async () => {
    const port = await closedPort();
    const client = await kube.connect({ server: `https://127.0.0.1:${port}` }, { baseDelayMs: 1, maxAttempts: 2 });
    const failure = await failureOf(client.get({ ...NP_REF, name: 'retry-probe' }));
    expect(failure.message).toBe(`networking.k8s.io/v1 NetworkPolicy default/retry-probe: giving up after 2 attempts: cannot reach https://127.0.0.1:${port} (ECONNREFUSED, context "test")`);
    expect((failure as ApiError).code).toBe('ECONNREFUSED');
  });
});
