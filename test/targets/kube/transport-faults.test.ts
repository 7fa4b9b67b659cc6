/**
 * Retries of the transport, against the hand-written test server (test/support/kube-apiserver.ts)
 * and not a real kube-apiserver: a real server cannot be made to answer 429 with Retry-After or
 * 5xx, reset connections or answer late on demand, and these are what is tested here.
 * test-apiserver.test.ts keeps the test server's ordinary answers equal to the real server's.
 */
import { KubeClient, KubeClientOptions } from '../../../provider/targets/kube/client';
import { ApiError } from '../../../provider/targets/api-errors';
import { KubeApiServer, startKubeApiServer } from '../../support/kube-apiserver';

let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(async () => {
  await server.close();
});

const connect = (options: KubeClientOptions = { baseDelayMs: 5 }) => KubeClient.connect({ inline: server.kubeconfig(), ...options });
const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'default', name: 'retry-probe' };

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail, it succeeded');
  return outcome;
}

describe('retries', () => {
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
    const client = await connect({ baseDelayMs: 1 });
    server.failNext(1, 429, 1);
    const started = Date.now();
    await expect(client.get(ref)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxAttempts with the last Status message', async () => {
    const client = await connect({ baseDelayMs: 1, maxAttempts: 4 });
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
    const client = await connect({ baseDelayMs: 1, maxAttempts: 3 });
    server.dropNext(3);
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toMatch(/retry-probe: giving up after 3 attempts: cannot reach https:\/\/127\.0\.0\.1:\d+ \(ECONNRESET, context "test"\)$/);
    expect((failure as ApiError).code).toBe('ECONNRESET');
  });

  it('times out a request that gets no answer, without retrying', async () => {
    const client = await connect({ baseDelayMs: 5, timeoutMs: 300 });
    server.delayNext(1, 1500);
    const before = server.requests.length;
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toMatch(/retry-probe: no answer from https:\/\/127\.0\.0\.1:\d+ within 300 ms \(context "test"\)$/);
    expect((failure as ApiError).code).toBe('ETIMEDOUT');
    expect(server.requests.length - before).toBe(1);
  });
});

describe('bounds on an answer', () => {
  it('a trickled answer (a byte every 100 ms for 6 s) ends at the total deadline, not after the last byte', async () => {
    const client = await connect({ baseDelayMs: 5, timeoutMs: 1000 });
    server.trickleNext(1, 60, 100);
    const started = Date.now();
    const failure = await failureOf(client.get(ref));
    const took = Date.now() - started;
    expect(failure.message).toMatch(/retry-probe: no answer from https:\/\/127\.0\.0\.1:\d+ within 1000 ms \(context "test"\)$/);
    expect((failure as ApiError).code).toBe('ETIMEDOUT');
    // Today's idle timeout let it run for the whole 6 s.
    expect(took).toBeLessThan(4000);
  });

  it('an answer larger than maxResponseBytes fails at once, saying so', async () => {
    const client = await connect({ baseDelayMs: 5, maxResponseBytes: 1024 * 1024 });
    server.oversizeNext(1, 2 * 1024 * 1024);
    const before = server.requests.length;
    const failure = await failureOf(client.get(ref));
    expect(failure.message).toMatch(/retry-probe: the answer from https:\/\/127\.0\.0\.1:\d+ is larger than 1 MiB \(context "test"\); is this an API server\?$/);
    expect(server.requests.length - before).toBe(1);
  });

  it('an answer under the limit is read', async () => {
    const client = await connect({ baseDelayMs: 5, maxResponseBytes: 1024 * 1024 });
    await expect(client.get(ref)).resolves.toBeUndefined();
  });
});

describe('tls-server-name', () => {
  // The server's certificate names 127.0.0.1 and localhost (test/support/test-pki.ts).
  const withServerName = (name: string) => {
    const config = JSON.parse(server.kubeconfig()) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    config.clusters[0].cluster['tls-server-name'] = name;
    return JSON.stringify(config);
  };

  it('a name the certificate holds is verified instead of the URL host', async () => {
    const client = await KubeClient.connect({ inline: withServerName('localhost'), baseDelayMs: 5 });
    await expect(client.get(ref)).resolves.toBeUndefined();
  });

  it('a name the certificate does not hold fails TLS verification (it was ignored)', async () => {
    const client = await KubeClient.connect({ inline: withServerName('kube.example'), baseDelayMs: 5 });
    const failure = await failureOf(client.get(ref));
    expect((failure as ApiError).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(failure.message).toMatch(/TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });
});

it('an admission webhook denial (422 with causes the message lacks) names the fields, and is not retried', async () => {
  const client = await connect();
  server.denyWrites('denied', { webhook: 'policy.example.com', causes: [{ reason: 'FieldValueForbidden', message: 'port 22 is not allowed', field: 'spec.ingress[0].ports[0]' }] });
  const before = server.requests.length;
  const failure = await failureOf(client.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'denied', namespace: 'default' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 22 }] }] } }));
  expect(failure.message).toBe(
    'networking.k8s.io/v1 NetworkPolicy default/denied: 422 Invalid: admission webhook "policy.example.com" denied the request (spec.ingress[0].ports[0]: port 22 is not allowed)',
  );
  expect((failure as ApiError).causes).toEqual([{ reason: 'FieldValueForbidden', message: 'port 22 is not allowed', field: 'spec.ingress[0].ports[0]' }]);
  expect(server.requests.length - before).toBe(1);
});
