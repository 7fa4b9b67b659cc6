/**
 * TEST SERVER — a local HTTP server standing in for the Rancher 1.x API in tests. It serves only
 * `/v2-beta/projects/{project}/networks/{network}` (GET and PUT), with HTTP basic auth by API key
 * pair, network resources shaped like Rancher's, and Rancher's error body
 * (`{id, type: "error", baseType: "error", links, actions, status, code, message, detail, fieldName}`)
 * for 401, 404, 415 and 422. `failNext` makes the next requests fail with a chosen status and
 * error body (403, 409, 422, 5xx), for paths the validation here cannot reach. It listens on
 * 127.0.0.1 only, on a random port.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';

type Json = Record<string, unknown>;

export interface RancherServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  accessKey: string;
  secretKey: string;
  /** Networks by `project/network`. */
  networks: Map<string, Json>;
  requests: Array<{ method: string; path: string; body?: unknown }>;
  /** The next `count` requests with `method` (any, when omitted) get `status` with Rancher's error body. */
  failNext(failure: { status: number; code: string; message?: string; fieldName?: string; method?: string; count?: number }): void;
  /**
   * The next request gets a 200 that misbehaves: a JSON body trickled one byte every `everyMs` ms
   * (`chunks` bytes; each resets an idle timeout), or one of `bytes` bytes.
   */
  misbehaveNext(answer: { trickle: { chunks: number; everyMs: number } } | { oversize: number }): void;
  close(): Promise<void>;
}

/** Fields of a network that a PUT may change; Rancher ignores the others. */
const UPDATABLE = ['name', 'description', 'defaultPolicyAction', 'policy', 'metadata'];

function errorBody(status: number, code: string, message: string | null, fieldName?: string): Json {
  const body: Json = { id: randomUUID(), type: 'error', links: {}, actions: {}, status, code, message, detail: null, baseType: 'error' };
  if (fieldName !== undefined) body.fieldName = fieldName;
  return body;
}

/** A network resource as Rancher 1.x shows it. */
function network(url: string, project: string, id: string): Json {
  return {
    id,
    type: 'network',
    links: { self: `${url}/v2-beta/projects/${project}/networks/${id}`, account: `${url}/v2-beta/projects/${project}/accounts/${project}` },
    actions: {},
    baseType: 'network',
    name: 'ipsec',
    state: 'active',
    accountId: project,
    created: '2017-03-01T10:00:00Z',
    createdTS: 1488362400000,
    defaultPolicyAction: 'allow',
    description: null,
    dns: ['169.254.169.250'],
    dnsSearch: ['rancher.internal'],
    hostPorts: true,
    kind: 'network',
    metadata: {},
    networkDriverId: '1nd5',
    policy: [],
    subnets: [{ cidrSize: 16, networkAddress: '10.42.0.0/16' }],
    transitioning: 'no',
    uuid: randomUUID(),
  };
}

function validate(body: Json): Json | undefined {
  if ('defaultPolicyAction' in body && body.defaultPolicyAction !== 'allow' && body.defaultPolicyAction !== 'deny') {
    return errorBody(422, 'InvalidOption', null, 'defaultPolicyAction');
  }
  if ('policy' in body) {
    if (!Array.isArray(body.policy)) return errorBody(422, 'InvalidType', null, 'policy');
    for (const rule of body.policy) {
      const action = typeof rule === 'object' && rule !== null ? (rule as Json).action : undefined;
      if (action !== 'allow' && action !== 'deny') return errorBody(422, 'InvalidOption', 'policy rule action must be allow or deny', 'policy');
    }
  }
  return undefined;
}

/** Starts the test Rancher server with the given networks (`project/network`). */
export async function startRancherServer(options: { accessKey?: string; secretKey?: string; networks?: string[] } = {}): Promise<RancherServer> {
  const accessKey = options.accessKey ?? 'A1B2C3D4E5';
  const secretKey = options.secretKey ?? 'secret-9f8e7d6c';
  const networks = new Map<string, Json>();
  const requests: RancherServer['requests'] = [];
  const failures: Array<{ status: number; code: string; message?: string; fieldName?: string; method?: string }> = [];
  let url = '';
  const misbehaving: Array<Parameters<RancherServer['misbehaveNext']>[0]> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: Json) => {
        res.statusCode = status;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(body));
      };
      const text = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', url).pathname;
      let body: unknown;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        body = text;
      }
      requests.push({ method: req.method ?? 'GET', path, body });
      const odd = misbehaving.shift();
      if (odd !== undefined) return misbehave(res, odd);
      const injected = failures.findIndex((f) => f.method === undefined || f.method === req.method);
      if (injected >= 0) {
        const [f] = failures.splice(injected, 1);
        return reply(f.status, errorBody(f.status, f.code, f.message ?? null, f.fieldName));
      }
      const expected = `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return reply(401, errorBody(401, 'Unauthorized', 'Unauthorized'));
      const match = /^\/v2-beta\/projects\/([^/]+)\/networks\/([^/]+)$/.exec(path);
      const stored = match === null ? undefined : networks.get(`${match[1]}/${match[2]}`);
      if (stored === undefined) return reply(404, errorBody(404, 'NotFound', null));
      if (req.method === 'GET') return reply(200, stored);
      if (req.method !== 'PUT') return reply(405, errorBody(405, 'MethodNotAllowed', null));
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(415, errorBody(415, 'InvalidBodyContent', null));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return reply(422, errorBody(422, 'InvalidBodyContent', null));
      const invalid = validate(body as Json);
      if (invalid !== undefined) return reply(422, invalid);
      for (const field of UPDATABLE) if (field in (body as Json)) stored[field] = (body as Json)[field];
      return reply(200, stored);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const key of options.networks ?? ['1a5/1n5']) {
    const [project, id] = key.split('/');
    networks.set(key, network(url, project, id));
  }
  return {
    url,
    accessKey,
    secretKey,
    networks,
    requests,
    misbehaveNext: (answer) => {
      misbehaving.push(answer);
    },
    failNext: ({ count = 1, ...failure }) => {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function misbehave(res: http.ServerResponse, answer: Parameters<RancherServer['misbehaveNext']>[0]): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  if ('oversize' in answer) {
    res.end(`{"pad":"${'x'.repeat(Math.max(0, answer.oversize - 10))}"}`);
    return;
  }
  res.write('{');
  for (let i = 0; i < answer.trickle.chunks && !res.destroyed; i++) {
    await new Promise((resolve) => setTimeout(resolve, answer.trickle.everyMs));
    res.write(' ');
  }
  res.end('}');
}
