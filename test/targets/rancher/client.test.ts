import * as net from 'net';
import { ApiError, ClientInputError } from '../../../provider/targets/api-errors';
import { getNetwork, putNetwork, RancherNetworkPolicy, RancherNetworkTarget } from '../../../provider/targets/rancher/client';
import { RancherServer, startRancherServer } from '../../support/rancher-server';

// The Rancher API here is the test server from test/support (a stand-in for a real Rancher 1.x).
let server: RancherServer;
beforeAll(async () => {
  server = await startRancherServer({ networks: ['1a5/1n5', '1a7/1n9'] });
});
afterAll(async () => {
  await server.close();
});

const target = (patch: Partial<RancherNetworkTarget> = {}): RancherNetworkTarget => ({
  url: server.url,
  project: '1a5',
  network: '1n5',
  accessKey: server.accessKey,
  secretKey: server.secretKey,
  // The test server speaks plain http on loopback; without this the client refuses it (see below).
  insecureAllowHttp: true,
  ...patch,
});

/** The seed's example 3: same department may talk, everything else denied. */
const departments: RancherNetworkPolicy = {
  defaultPolicyAction: 'deny',
  policy: [{ between: { groupBy: 'com.rancher.department' }, action: 'allow' }],
};

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(() => undefined, (error: unknown) => error);
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail, it succeeded');
  return outcome;
}

describe('putNetwork / getNetwork', () => {
  it.each([
    { name: 'seed example 3 (groupBy department)', desired: departments },
    { name: 'seed example 2 (within stack)', desired: { defaultPolicyAction: 'deny', policy: [{ within: 'stack', action: 'allow' }] } as RancherNetworkPolicy },
    { name: 'seed example 1 (deny everything)', desired: { defaultPolicyAction: 'deny', policy: [] } as RancherNetworkPolicy },
  ])('round-trips $name, keeping the other network fields', async ({ desired }) => {
    const before = server.requests.length;
    const written = await putNetwork(target(), desired);
    expect(written).toMatchObject({ id: '1n5', type: 'network', ...desired, dns: ['169.254.169.250'], subnets: [{ cidrSize: 16, networkAddress: '10.42.0.0/16' }] });
    const sent = server.requests.slice(before);
    expect(sent.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /v2-beta/projects/1a5/networks/1n5', 'PUT /v2-beta/projects/1a5/networks/1n5']);
    expect(sent[1].body).toMatchObject({ id: '1n5', name: 'ipsec', dnsSearch: ['rancher.internal'], ...desired });
    const read = await getNetwork(target());
    expect(read).toMatchObject(desired);
  });

  it('writes only the addressed network', async () => {
    await putNetwork(target(), departments);
    expect(await getNetwork(target({ project: '1a7', network: '1n9' }))).toMatchObject({ defaultPolicyAction: 'allow', policy: [] });
  });

  it('getNetwork of an unknown network is undefined (404)', async () => {
    await expect(getNetwork(target({ network: '1n404' }))).resolves.toBeUndefined();
  });
});

describe('errors', () => {
  const cases: Array<{ name: string; call: () => Promise<unknown>; message: RegExp; status?: number }> = [
    { name: 'wrong secret key: 401 with Rancher’s message', call: () => getNetwork(target({ secretKey: 'WRONG-secret' })), status: 401, message: /^Rancher network 1a5\/1n5 at http:\/\/127\.0\.0\.1:\d+: 401 Unauthorized: Unauthorized — Rancher did not accept the API key pair/ },
    { name: 'wrong key pair on put: 401', call: () => putNetwork(target({ accessKey: 'NOPE', secretKey: 'WRONG-secret' }), departments), status: 401, message: /401 Unauthorized/ },
    { name: 'put to a missing network: 404', call: () => putNetwork(target({ project: '1a99' }), departments), status: 404, message: /Rancher network 1a99\/1n5 .*: 404 NotFound: no such network in this environment/ },
    { name: 'a rule Rancher refuses: 422 with fieldName', call: () => putNetwork(target(), { defaultPolicyAction: 'deny', policy: [{ within: 'stack', action: 'maybe' }] }), status: 422, message: /422 InvalidOption: policy rule action must be allow or deny; field policy$/ },
    { name: 'the server is down', call: async () => getNetwork(target({ url: `http://127.0.0.1:${await freePort()}` })), message: /cannot reach the Rancher server \(ECONNREFUSED\)/ },
  ];
  it.each(cases)('$name', async ({ call, message, status }) => {
    const failure = await failureOf(call());
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure.message).toMatch(message);
    expect((failure as ApiError).status).toBe(status);
    for (const secret of [server.secretKey, 'WRONG-secret', server.accessKey]) expect(failure.message).not.toContain(secret);
  });

  const inputCases: Array<{ name: string; call: () => Promise<unknown>; message: RegExp }> = [
    { name: 'a project id that would alter the path', call: () => getNetwork(target({ project: '1a5/../../admin' })), message: /project id "1a5\/\.\.\/\.\.\/admin" is not a Rancher id/ },
    { name: 'a network id with a query', call: () => putNetwork(target({ network: '1n5?x=1' }), departments), message: /network id "1n5\?x=1" is not a Rancher id/ },
    { name: 'credentials in the url', call: () => getNetwork(target({ url: 'http://user:pw-SECRET@127.0.0.1:1' })), message: /url must not carry credentials/ },
    { name: 'a url that is not one', call: () => getNetwork(target({ url: 'rancher:8080' })), message: /must use https:\/\// },
    { name: 'an http:// url (the key pair would travel in clear text)', call: () => getNetwork(target({ insecureAllowHttp: undefined })), message: /^rancher network: url "http:\/\/127\.0\.0\.1:\d+" uses http:\/\/: the API key pair and the policy would travel in clear text; use the server's https:\/\/ URL \(insecureAllowHttp: true accepts it, for a loopback test server only\)$/ },
    { name: 'an http:// url with insecureAllowHttp: false', call: () => putNetwork(target({ insecureAllowHttp: false }), departments), message: /uses http:\/\// },
    { name: 'HTTPS_PROXY set for the server (this client does not tunnel)', call: () => getNetwork(target({ url: 'https://rancher.example:8443', env: { HTTPS_PROXY: 'http://proxy.example:3128' } })), message: /^rancher network: HTTPS_PROXY is set, and this client does not go through a proxy: add rancher.example to NO_PROXY to reach Rancher directly, or unset HTTPS_PROXY$/ },
    { name: 'no key pair', call: () => getNetwork(target({ secretKey: '' })), message: /accessKey and secretKey are required/ },
    { name: 'a bad defaultPolicyAction', call: () => putNetwork(target(), { defaultPolicyAction: 'drop' as 'deny', policy: [] }), message: /defaultPolicyAction must be "allow" or "deny", not "drop"/ },
  ];
  it.each(inputCases)('rejects before sending: $name', async ({ call, message }) => {
    const before = server.requests.length;
    const failure = await failureOf(call());
    expect(failure).toBeInstanceOf(ClientInputError);
    expect(failure.message).toMatch(message);
    expect(failure.message).not.toContain('pw-SECRET');
    expect(server.requests.length).toBe(before);
  });
});

it('HTTP_PROXY does not apply to the loopback test server', async () => {
  await expect(getNetwork(target({ env: { HTTP_PROXY: 'http://proxy.example:3128' } }))).resolves.toMatchObject({ id: '1n5' });
});

describe('bounds on an answer', () => {
  it('a trickled answer (a byte every 100 ms for 6 s) ends at the total deadline', async () => {
    server.misbehaveNext({ trickle: { chunks: 60, everyMs: 100 } });
    const started = Date.now();
    const failure = await failureOf(getNetwork(target({ timeoutMs: 1000 })));
    expect(failure.message).toMatch(/^Rancher network 1a5\/1n5 at http:\/\/127\.0\.0\.1:\d+: no answer within 1000 ms$/);
    // axios' idle timeout alone let it run the whole 6 s.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('an answer over maxResponseBytes fails, saying so', async () => {
    server.misbehaveNext({ oversize: 2 * 1024 * 1024 });
    const failure = await failureOf(getNetwork(target({ maxResponseBytes: 1024 * 1024 })));
    expect(failure.message).toMatch(/^Rancher network 1a5\/1n5 at http:\/\/127\.0\.0\.1:\d+: the answer is larger than 1 MiB; is this a Rancher server\?$/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
