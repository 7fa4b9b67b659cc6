/**
 * The test API server (test/support/kube-apiserver.ts, kept for the faults a real server cannot be
 * made to produce) must answer as the real kube-apiserver does wherever it answers at all. The same
 * requests go to both; each answer must have the same status code, content type and body once what
 * differs by nature is normalised (uids, timestamps, resourceVersions as "the first, second ... seen
 * in this case", the revision inside list tokens).
 */
import * as https from 'https';
import { KubeApiServer, startKubeApiServer } from '../../support/kube-apiserver';
import { describeWithRealKube, RealKubeApiServer, startRealKubeApiServer, TestUser, TOKENS } from '../../support/real-kube-apiserver';

type Who = TestUser | 'anonymous' | 'unknown token';

/** One request of a case. */
interface Step {
  method: 'GET' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** @default application/apply-patch+yaml for PATCH, application/json for PUT */
  contentType?: string;
  /** @default 'admin' */
  as?: Who;
  /** Compare only the code, reason and the start of the message (the rest is Go's wording of a parse error). */
  statusOnly?: boolean;
}

interface Reply {
  status: number;
  contentType: string;
  body: unknown;
}

interface Server {
  url: string;
  caPem: string;
}

function send(server: Server, step: Step): Promise<Reply> {
  const text = step.body === undefined ? undefined : typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
  const who = step.as ?? 'admin';
  const token = who === 'anonymous' ? undefined : who === 'unknown token' ? 'not-a-token' : TOKENS[who];
  const contentType = step.contentType ?? (step.method === 'PATCH' ? 'application/apply-patch+yaml' : 'application/json');
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}${step.path}`, {
      method: step.method,
      ca: server.caPem,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(text === undefined ? {} : { 'content-type': contentType }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const answer = Buffer.concat(chunks).toString('utf8');
        let body: unknown = answer;
        try { body = JSON.parse(answer); } catch { /* plain text */ }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']).split(';')[0], body });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Replaces what differs by nature; `versions` numbers the resourceVersions of objects in order of appearance. */
function normalise(value: unknown, versions: Map<string, string>, key = ''): unknown {
  if (typeof value === 'string') {
    if (key === 'uid') return 'UID';
    if (key === 'resourceVersion') {
      if (!versions.has(value)) versions.set(value, `rv${versions.size + 1}`);
      return versions.get(value);
    }
    return value.replace(TIMESTAMP, 'TIME');
  }
  if (Array.isArray(value) && key === 'managedFields') {
    // Entries are ordered by time, kept to the second: which steps share a second depends on the
    // machine's speed, so compare them in a fixed order (operation, then manager).
    const entries = value.map((item) => normalise(item, versions)) as Array<Record<string, unknown>>;
    return entries.sort((a, b) => `${String(a.operation)} ${String(a.manager)}`.localeCompare(`${String(b.operation)} ${String(b.manager)}`));
  }
  if (Array.isArray(value)) return value.map((item) => normalise(item, versions));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [field, inner] of Object.entries(value)) out[field] = normalise(inner, versions, field);
  if (value.reason === 'Conflict' && isRecord(out.details) && Array.isArray(out.details.causes)) {
    // The real server lists conflicting fields in Go map order, which varies from run to run.
    out.details = { ...out.details, causes: [...out.details.causes].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
  }
  if (typeof value.kind === 'string' && value.kind.endsWith('List') && isRecord(value.metadata)) {
    // A list's resourceVersion is the store's revision, which other writers move on the real server.
    const metadata: Record<string, unknown> = { ...value.metadata, resourceVersion: 'RV' };
    if (typeof metadata.continue === 'string' && metadata.continue !== '') {
      metadata.continue = { ...JSON.parse(Buffer.from(metadata.continue, 'base64url').toString('utf8')), rv: 'RV' };
    }
    // Artefacts of the CRDs standing in for Calico's API server on the real server.
    if (metadata.continue === '') delete metadata.continue;
    out.metadata = metadata;
    if (Array.isArray(out.items)) out.items = out.items.map((item) => (isRecord(item) ? { ...item, apiVersion: undefined, kind: undefined } : item));
  }
  return out;
}

function comparable(reply: Reply, step: Step, versions: Map<string, string>): unknown {
  if (step.statusOnly && isRecord(reply.body)) {
    return { status: reply.status, reason: reply.body.reason, message: String(reply.body.message).split(':').slice(0, 2).join(':') };
  }
  return { status: reply.status, contentType: reply.contentType, body: normalise(reply.body, versions) };
}

const NP = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
const policy = (name: string, spec?: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, ...metadata }, ...(spec === undefined ? {} : { spec }),
});
const apply = (name: string, spec?: Record<string, unknown>, query = 'fieldManager=t', metadata: Record<string, unknown> = {}): Step =>
  ({ method: 'PATCH', path: `${NP}/${name}?${query}`, body: policy(name, spec, metadata) });
const get = (path: string, as?: Who): Step => ({ method: 'GET', path, as });

const CASES: Array<{ name: string; steps: Step[] }> = [
  {
    name: 'a group or path not served: plain-text 404 page not found; an unknown resource of a built-in group: a NotFound Status',
    steps: [
      get('/apis/nosuch.example/v1/foos'), get('/apis/nosuch.example/v1/namespaces/default/foos/x'), get('/apis/projectcalico.org/v3/foos'),
      get('/apis/projectcalico.org/v9/profiles'), get('/foo'), get('/apis/networking.k8s.io/v1/foos'), get('/api/v1/foos'), get('/apis/networking.k8s.io/v9/networkpolicies'),
    ],
  },
  {
    name: 'empty lists and maps are dropped, empty selectors (structs) stay',
    steps: [
      apply('empties', {
        podSelector: { matchLabels: {}, matchExpressions: [] },
        ingress: [{ from: [], ports: [] }, { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: [] } }, { namespaceSelector: {} }, { podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: [] }] } }] }],
        egress: [],
      }, 'fieldManager=t', { labels: {}, annotations: {} }),
      get(`${NP}/empties`),
      apply('empty-egress-rule', { podSelector: {}, egress: [{ to: [], ports: [] }] }),
      apply('no-spec'),
    ],
  },
  {
    name: 'defaults: policyTypes only when empty (Egress only for a non-empty egress), protocol TCP',
    steps: [
      apply('egress-only', { podSelector: {}, egress: [{ ports: [{ port: 53 }, { protocol: 'UDP', port: 53 }, { port: 'dns' }, { port: 8000, endPort: 8080 }] }] }),
      apply('egress-empty', { podSelector: {}, egress: [], policyTypes: [] }),
      apply('types-given', { podSelector: {}, policyTypes: ['Egress'], ingress: [{ ports: [{ port: 80 }] }] }),
    ],
  },
  {
    name: 'PUT: without resourceVersion unconditional, with a stale one 409, of a missing object 404; ownership of changed fields',
    steps: [
      apply('put-me', { podSelector: { matchLabels: { a: 'b' } }, egress: [{}] }, 'fieldManager=t', { labels: { app: 'web' } }),
      { method: 'PUT', path: `${NP}/put-me?fieldManager=editor`, body: policy('put-me', { podSelector: { matchLabels: { a: 'b' } }, ingress: [] }, { labels: { app: 'web', extra: 'e' } }) },
      { method: 'PUT', path: `${NP}/put-me?fieldManager=editor`, body: policy('put-me', { podSelector: {} }, { resourceVersion: '1' }) },
      { method: 'PUT', path: `${NP}/missing?fieldManager=editor`, body: policy('missing', { podSelector: {} }) },
      { method: 'PUT', path: `${NP}/put-me?fieldManager=editor`, body: policy('put-me'), contentType: 'application/apply-patch+yaml' },
      { method: 'PUT', path: `${NP}/put-me?fieldManager=editor`, body: policy('other') },
    ],
  },
  {
    name: '?dryRun=All: validated and answered as if written, nothing stored',
    steps: [
      apply('dry', { podSelector: {} }, 'fieldManager=t&dryRun=All'),
      get(`${NP}/dry`),
      apply('dry', { podSelector: {}, policyTypes: ['Sideways'] }, 'fieldManager=t&dryRun=All'),
      apply('dry', { podSelector: {} }, 'fieldManager=t&dryRun=Some'),
      apply('wet', { podSelector: {} }),
      apply('wet', { podSelector: { matchLabels: { a: 'b' } } }, 'fieldManager=t&dryRun=All'),
      { method: 'PUT', path: `${NP}/wet?fieldManager=editor&dryRun=All`, body: policy('wet', { podSelector: { matchLabels: { x: 'y' } } }) },
      { method: 'DELETE', path: `${NP}/wet?dryRun=All` },
      get(`${NP}/wet`),
      { method: 'DELETE', path: `${NP}/wet` },
      { method: 'DELETE', path: `${NP}/wet` },
    ],
  },
  {
    name: 'an apply the server refuses before looking at the object',
    steps: [
      { method: 'PATCH', path: `${NP}/nameless?fieldManager=t`, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {} } },
      { method: 'PATCH', path: `${NP}/nameless?fieldManager=t`, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' } },
      apply('p', { podSelector: {} }, ''),
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: policy('q') },
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: policy('p', {}, { namespace: 'kube-system' }) },
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: { ...policy('p'), apiVersion: 'networking.k8s.io/v2' } },
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: { ...policy('p'), kind: 'Foo' } },
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: '[]' },
      { method: 'PATCH', path: `${NP}/p?fieldManager=t`, body: '{}', contentType: 'text/plain' },
      { method: 'PATCH', path: '/apis/networking.k8s.io/v1/namespaces/nope/networkpolicies/p?fieldManager=t', body: policy('p', { policyTypes: ['X'] }) },
    ],
  },
  {
    name: 'validation: 422 Invalid with the causes',
    steps: [
      apply('bad-label', { podSelector: { matchLabels: { role: 'bad value!' } } }),
      apply('bad-type', { podSelector: {}, policyTypes: ['Sideways'] }),
      apply('bad-end-port', { podSelector: {}, ingress: [{ ports: [{ port: 'dns', endPort: 60 }] }] }),
    ],
  },
  {
    name: 'server-side apply: shared fields, conflicts named by manager (an Update manager with version and time), force, managedFields order',
    steps: [
      apply('owned', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ ports: [{ port: 6379 }] }] }, 'fieldManager=t', { labels: { app: 'x' } }),
      apply('owned', { podSelector: { matchLabels: { role: 'db' } } }, 'fieldManager=same-value'),
      apply('owned', { podSelector: { matchLabels: { role: 'cache' } } }, 'fieldManager=ops&force=true'),
      apply('owned', { podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Ingress'] }, 'fieldManager=t', { labels: { app: 'y' } }),
      { method: 'PUT', path: `${NP}/owned?fieldManager=editor`, body: policy('owned', { podSelector: { matchLabels: { role: 'cache' } }, ingress: [{}] }, { labels: { app: 'x', extra: 'e' } }) },
      apply('owned', { podSelector: { matchLabels: { role: 'z' } } }, 'fieldManager=ops2', { labels: { app: 'z', extra: 'f' } }),
      apply('owned', { podSelector: { matchLabels: { role: 'db' } } }, 'fieldManager=t&force=true'),
    ],
  },
  {
    name: 'lists page by limit with continue tokens and remainingItemCount; a bad token is a 400',
    steps: [
      { method: 'PATCH', path: '/api/v1/namespaces/paging?fieldManager=t', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } } },
      ...['p-3', 'p-1', 'p-10', 'p-2', 'p-0'].map((name): Step => ({
        method: 'PATCH', path: `/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies/${name}?fieldManager=t`, body: policy(name, { podSelector: {} }),
      })),
      get('/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies?limit=2'),
      get('/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies'),
      get('/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies?limit=0'),
      { ...get('/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies?limit=2&continue=garbage'), statusOnly: true },
      get('/apis/networking.k8s.io/v1/namespaces/paging/networkpolicies?limit=abc'),
      get('/apis/networking.k8s.io/v1/namespaces/absent/networkpolicies'),
    ],
  },
  {
    name: 'users: 401 for an unknown token, 403 for one without rights and for anonymous requests',
    steps: [
      get(`${NP}/x`, 'unknown token'),
      get(`${NP}/x`, 'nobody'),
      get('/apis/projectcalico.org/v3/globalnetworkpolicies', 'nobody'),
      get('/api/v1/namespaces/default', 'nobody'),
      get('/apis/nosuch.example/v1/foos', 'nobody'),
      get('/foo', 'nobody'),
      { ...apply('x', { podSelector: {} }), as: 'nobody' },
      { method: 'DELETE', path: `${NP}/x`, as: 'nobody' },
      get(`${NP}/x`, 'anonymous'),
    ],
  },
  {
    name: 'Namespaces and Calico kinds',
    steps: [
      { method: 'PATCH', path: '/api/v1/namespaces/legacy?fieldManager=t', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy', annotations: { a: 'b' }, labels: {} } } },
      { method: 'DELETE', path: '/api/v1/namespaces/legacy' },
      { method: 'PATCH', path: '/apis/projectcalico.org/v3/globalnetworkpolicies/deny-all?fieldManager=t', body: { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all', labels: {} }, spec: { selector: 'all()', types: ['Ingress'], ingress: [] } } },
      get('/apis/projectcalico.org/v3/globalnetworkpolicies?limit=1'),
      { method: 'DELETE', path: '/apis/projectcalico.org/v3/globalnetworkpolicies/deny-all' },
      get('/apis/projectcalico.org/v3/globalnetworkpolicies/deny-all'),
      { method: 'PATCH', path: '/apis/projectcalico.org/v3/namespaces/default/networkpolicies/web?fieldManager=t', body: { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'web' }, spec: { selector: "role == 'web'", ingress: [{ action: 'Allow' }] } } },
    ],
  },
];

describeWithRealKube('the test API server answers as the real kube-apiserver does', () => {
  let real: RealKubeApiServer;
  let fake: KubeApiServer;
  beforeAll(async () => {
    [real, fake] = await Promise.all([
      startRealKubeApiServer(),
      startKubeApiServer({ tokens: { [TOKENS.admin]: { user: 'admin' }, [TOKENS.nobody]: { user: 'nobody', forbidden: true } } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([real?.close(), fake?.close()]);
  });

  const servers = (): Server[] => [{ url: real.url, caPem: real.pki.caPem }, { url: fake.url, caPem: fake.pki.caPem }];

  it.each(CASES)('$name', async ({ steps }) => {
    const [onReal, onFake] = await Promise.all(servers().map(async (server) => {
      const versions = new Map<string, string>();
      const replies: unknown[] = [];
      for (const step of steps) replies.push({ request: `${step.method} ${step.path}`, ...(comparable(await send(server, step), step, versions) as object) });
      return replies;
    }));
    expect(onFake).toEqual(onReal);
  });

  it('a no-op apply, a second later, changes nothing: same resourceVersion, same managedFields time', async () => {
    const step = apply('no-op', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] });
    const first = await Promise.all(servers().map((server) => send(server, step)));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await Promise.all(servers().map((server) => send(server, step)));
    expect(again.map((reply) => reply.status)).toEqual([200, 200]);
    expect(again.map((reply) => reply.body)).toEqual(first.map((reply) => reply.body));
  });
});
