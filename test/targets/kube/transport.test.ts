import * as net from 'net';
import { KubeClient, KubeClientOptions } from '../../../provider/targets/kube/client';
import { ApiError } from '../../../provider/targets/api-errors';
import { KubeApiServer, startKubeApiServer, TestKubeconfigOptions } from '../../support/kube-apiserver';

// The transport as the client uses it, against the test server from test/support (a stand-in for a
// real cluster): TLS, credentials, retries and the errors that name what failed.
let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(async () => {
  await server.close();
});

const FAST: KubeClientOptions = { baseDelayMs: 5 };
const connect = (config: TestKubeconfigOptions = {}, options: KubeClientOptions = FAST) =>
  KubeClient.connect({ inline: server.kubeconfig(config), ...options });

const NP_REF = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default' };

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail, it succeeded');
  return outcome;
}

describe('TLS and authentication', () => {
  const cases: Array<{ name: string; config: TestKubeconfigOptions; user?: string; error?: RegExp; status?: number }> = [
    { name: 'token with CA data', config: {}, user: 'alice' },
    { name: 'token with CA file', config: { ca: 'file' }, user: 'alice' },
    { name: 'client certificate files, no token', config: { token: null, clientCert: 'file' }, user: 'alice' },
    { name: 'client certificate data, no token', config: { token: null, clientCert: 'data' }, user: 'alice' },
    { name: 'insecure-skip-tls-verify: true without CA', config: { ca: 'none', insecure: true }, user: 'alice' },
    { name: 'no CA and no insecure flag: server certificate rejected', config: { ca: 'none' }, error: /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \([A-Z_]+\); set certificate-authority\(-data\) of cluster "test-cluster"/ },
    { name: 'insecure-skip-tls-verify: "true" (string) is not honoured', config: { ca: 'none', insecure: 'true' }, error: /TLS verification .* failed/ },
    { name: 'insecure-skip-tls-verify: false is not honoured', config: { ca: 'none', insecure: false }, error: /TLS verification .* failed/ },
    { name: 'a bad token: 401 with the API message', config: { token: 'wrong-SECRET' }, status: 401, error: /^networking\.k8s\.io\/v1 NetworkPolicy default\/probe: 401 Unauthorized: Unauthorized — the API server did not accept the credentials of user "test-user" \(context "test"\)/ },
    { name: 'no credentials: 401', config: { token: null }, status: 401, error: /401 Unauthorized: Unauthorized/ },
    { name: 'a forbidden user: 403 with the API message', config: { token: 'forbidden-token' }, status: 403, error: /403 Forbidden: networkpolicies\.networking\.k8s\.io "probe" is forbidden: User "mallory" cannot get resource "networkpolicies" in API group "networking\.k8s\.io" in the namespace "default"/ },
  ];
  it.each(cases)('$name', async ({ config, user, error, status }) => {
    const client = await connect(config);
    const before = server.requests.length;
    const read = client.get({ ...NP_REF, name: 'probe' });
    if (error === undefined) {
      await expect(read).resolves.toBeUndefined();
      expect(server.requests.slice(before).map((request) => request.user)).toEqual([user]);
      return;
    }
    const failure = await failureOf(read);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure.message).toMatch(error);
    expect(failure.message).not.toContain('SECRET');
    if (status !== undefined) expect((failure as ApiError).status).toBe(status);
    expect((failure as ApiError).attempts).toBe(1);
  });
});

it('an unusable client key is reported as such, without key material', async () => {
  const config = JSON.parse(server.kubeconfig({ token: null, clientCert: 'data' })) as { users: Array<{ user: Record<string, string> }> };
  config.users[0].user['client-key-data'] = Buffer.from('-----BEGIN EC PRIVATE KEY-----\nS0VZ-SECRET\n-----END EC PRIVATE KEY-----\n').toString('base64');
  const client = await KubeClient.connect({ inline: JSON.stringify(config), ...FAST });
  const failure = await failureOf(client.get({ ...NP_REF, name: 'probe' }));
  expect(failure.message).toMatch(/^networking\.k8s\.io\/v1 NetworkPolicy default\/probe: the TLS client credentials of user "test-user" could not be used \(ERR_OSSL_[A-Z_]+\); check client-certificate and client-key in the kubeconfig$/);
  expect(failure.message).not.toContain('SECRET');
});

describe('retries', () => {
  const ref = { ...NP_REF, name: 'retry-probe' };

  it.each([
    { status: 503 as const, count: 2 },
    { status: 500 as const, count: 3 },
    { status: 429 as const, count: 1 },
  ])('$count × $status, then success', async ({ status, count }) => {
    const client = await connect();
    server.failNext(count, status);
    const before = server.requests.length;
    await expect(client.get(ref)).resolves.toBeUndefined();
    expect(server.requests.length - before).toBe(count + 1);
  });

  it('honours Retry-After on 429', async () => {
    const client = await connect({}, { baseDelayMs: 1 });
    server.failNext(1, 429, 1);
    const started = Date.now();
    await expect(client.get(ref)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxAttempts with the last Status message', async () => {
    const client = await connect({}, { baseDelayMs: 1, maxAttempts: 4 });
    server.failNext(4, 503);
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toBe(
      'networking.k8s.io/v1 NetworkPolicy default/retry-probe: giving up after 4 attempts: 503 ServiceUnavailable: the server is currently unable to handle the request',
    );
    expect((failure as ApiError).attempts).toBe(4);
  });

  it('retries a dropped connection', async () => {
    const client = await connect();
    server.dropNext(2);
    const before = server.requests.length;
    await expect(client.get(ref)).resolves.toBeUndefined();
    expect(server.requests.length - before).toBe(3);
  });

  it('gives up on connections that keep dropping', async () => {
    const client = await connect({}, { baseDelayMs: 1, maxAttempts: 3 });
    server.dropNext(3);
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toMatch(/retry-probe: giving up after 3 attempts: cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNRESET, context "test"\)$/);
    expect((failure as ApiError).code).toBe('ECONNRESET');
  });

  it('retries a refused connection, then names the server', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const inline = server.kubeconfig().replace(server.url, `https://127.0.0.1:${port}`);
    const client = await KubeClient.connect({ inline, baseDelayMs: 1, maxAttempts: 2 });
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toBe(`networking.k8s.io/v1 NetworkPolicy default/retry-probe: giving up after 2 attempts: cannot reach https://127.0.0.1:${port} (ECONNREFUSED, context "test")`);
  });

  it('times out a request that gets no answer, without retrying', async () => {
    const client = await connect({}, { ...FAST, timeoutMs: 300 });
    server.delayNext(1, 1500);
    const before = server.requests.length;
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toMatch(/retry-probe: no answer from https:\/\/127\.0\.0\.1:\d+ within 300 ms \(context "test"\)$/);
    expect((failure as ApiError).code).toBe('ETIMEDOUT');
    expect(server.requests.length - before).toBe(1);
  });
});
