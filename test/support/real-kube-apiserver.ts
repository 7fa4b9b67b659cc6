/**
 * A REAL Kubernetes API server for tests, started the way envtest starts one: Debian's `etcd` and
 * the kube-apiserver binary from `../shared/k8s/` (or the path in `KUBE_APISERVER`), both on
 * loopback on free ports, with a CA and serving certificate made by `openssl` (test-pki.ts),
 * bearer tokens from a `--token-auth-file` and `--authorization-mode=RBAC`.
 *
 * Users (tokens in `TOKENS`):
 * - `admin`  — group `system:masters`: may do everything;
 * - `reader` — bound to the cluster role `netpol-reader` (get, list, watch on the kinds this
 *   project writes, and namespaces);
 * - `nobody` — authenticated, with no bindings.
 *
 * Calico's `projectcalico.org/v3` kinds are served in a real Calico cluster by the Calico API
 * server. None runs here: with `calico: true` (the default) CustomResourceDefinitions of the same
 * group, version and kinds stand in for it (cluster-scoped Profile and GlobalNetworkPolicy,
 * namespaced NetworkPolicy; specs kept as written), so the objects travel through a real API
 * server's storage, admission and server-side apply. With `calico: false` the group is not served.
 *
 * What was requested is read from the server's own audit log (`requests()`), not from a proxy.
 * Everything is stopped by pid and removed by `close()`, also after a failure; a process exit
 * kills what is still running.
 */
import { ChildProcess, execFile, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { KubeClient, KubeClientOptions } from '../../provider/targets/kube/client';
import { AUDIT_POLICY, CALICO_KINDS, calicoDefinitions, READER_BINDING, READER_ROLE } from './real-kube-objects';
import { createTestPki, TestPki } from './test-pki';

const run = promisify(execFile);

/** The binary this project tests against (its sha256 is in ../shared/k8s/README.md). */
export const KUBE_VERSION = 'v1.26.3';
const SHARED_BINARY = path.resolve(__dirname, '..', '..', '..', 'shared', 'k8s', `kube-apiserver-${KUBE_VERSION}-linux-amd64.xz`);
const SHARED_SHA256 = '309efb42d894f4a8b6bb8275e16e83cd43486d3756f4ab1a8a13f849b5b90078';
const CACHE_DIR = path.join(os.tmpdir(), 'netpol-kube-cache');

/** Bearer tokens of the test users. */
export const TOKENS = { admin: 'admin-token', reader: 'reader-token', nobody: 'nobody-token' } as const;
export type TestUser = keyof typeof TOKENS;

/** Where the binary is, or why the real-API suites cannot run. */
export type KubeBinary = { binary: string; etcd: string } | { missing: string };

/** How to point the tests at a binary: the one line `npm test` prints when the suites did not run. */
export const HOW_TO_POINT =
  `set KUBE_APISERVER to a kube-apiserver binary (or its .xz), or put ${path.basename(SHARED_BINARY)} in ${path.dirname(SHARED_BINARY)}, and install etcd (Debian: apt-get install etcd-server)`;

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Finds the binaries: `KUBE_APISERVER` (a binary, or an `.xz` of one), else the shared `.xz`.
 * An `.xz` is unpacked once into a cache folder (named by the archive's sha256) and reused.
 */
export function findKubeBinary(): KubeBinary {
  const etcd = which('etcd');
  const source = process.env.KUBE_APISERVER ?? (fs.existsSync(SHARED_BINARY) ? SHARED_BINARY : undefined);
  if (source === undefined) return { missing: `no kube-apiserver: KUBE_APISERVER is unset and ${SHARED_BINARY} does not exist` };
  if (!fs.existsSync(source)) return { missing: `KUBE_APISERVER=${source} does not exist` };
  if (etcd === undefined) return { missing: 'no etcd on PATH' };
  if (!source.endsWith('.xz')) return { binary: source, etcd };
  const unpacked = path.join(CACHE_DIR, `${sha256(source).slice(0, 16)}`, 'kube-apiserver');
  if (!fs.existsSync(unpacked)) {
    fs.mkdirSync(path.dirname(unpacked), { recursive: true });
    const partial = `${unpacked}.${process.pid}.partial`;
    const out = fs.openSync(partial, 'w', 0o755);
    try {
      const xz = spawnSync('xz', ['-dc', source], { stdio: ['ignore', out, 'pipe'] });
      if (xz.status !== 0) return { missing: `xz -dc ${source} failed: ${String(xz.stderr ?? xz.error)}` };
    } finally {
      fs.closeSync(out);
    }
    if (source === SHARED_BINARY && sha256(partial) !== SHARED_SHA256) {
      fs.rmSync(partial, { force: true });
      return { missing: `${source} does not unpack to the binary whose sha256 ../shared/k8s/README.md gives` };
    }
    fs.renameSync(partial, unpacked);
  }
  return { binary: unpacked, etcd };
}

/**
 * `describe` for a suite that needs the real API server. Without the binaries the suite is
 * skipped (jest's global setup printed the one line saying so); under `CI=true` it fails.
 */
export function describeWithRealKube(name: string, body: () => void): void {
  const found = findKubeBinary();
  if ('binary' in found) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('the real Kubernetes API server is available (CI=true)', () => {
        throw new Error(`${found.missing}; ${HOW_TO_POINT}`);
      });
    });
  } else {
    describe.skip(name, body);
  }
}

/** One request, from the server's audit log. */
export interface AuditedRequest {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  user: string;
  code: number;
}

/** Options of `startRealKubeApiServer`. */
export interface RealKubeOptions {
  /** Serve projectcalico.org/v3 (by CRDs standing in for the Calico API server). @default true */
  calico?: boolean;
}

/** Options of `RealKubeApiServer.kubeconfig`. */
export interface RealKubeconfigOptions {
  /** Whose token. @default 'admin' (no token when null) */
  user?: TestUser | null;
  /** A token that is not in the token file (401). */
  token?: string;
  /** How the CA reaches the client. @default 'data' */
  ca?: 'file' | 'data' | 'none';
  /** Value written as `insecure-skip-tls-verify` (omitted when undefined). */
  insecure?: unknown;
  /** The test PKI's client certificate (CN `alice`, O `netpol-testers`; no RBAC bindings), as files or data. @default none */
  clientCert?: 'file' | 'data';
  /** Context namespace. @default omitted */
  namespace?: string;
  /** Server URL. @default this server's */
  server?: string;
}

export interface RealKubeApiServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  pki: TestPki;
  /** A kubeconfig (JSON, which is YAML) with one context `test`. */
  kubeconfig(options?: RealKubeconfigOptions): string;
  /** An HTTP request as `admin` (or `as`); the parsed JSON body, or the text when it is not JSON. */
  request(method: string, pathAndQuery: string, body?: unknown, options?: { as?: TestUser; contentType?: string }): Promise<{ status: number; body: any }>;
  /** Every request by a test user so far (not the server's own), in order; after the first `since`. */
  requests(since?: number): Promise<AuditedRequest[]>;
  /** How many requests `requests()` would give now: a mark to pass as `since` later. */
  requestCount(): Promise<number>;
  /** Stops kube-apiserver (etcd stays), to test an unreachable server. */
  stopApiServer(): Promise<void>;
  /** Stops both processes by pid and removes their data. */
  close(): Promise<void>;
}

const living = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function startProcess(command: string, args: string[], logFile: string): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  living.add(child);
  child.once('exit', () => living.delete(child));
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A suite's real API server (`realKubeForSuite`) and what its tests do with it. */
export interface RealKubeSuite {
  /** The server, started by the suite's beforeAll. */
  readonly server: RealKubeApiServer;
  /** A client of a kubeconfig of this server (`config`), with the suite's client options unless given. */
  connect(config?: RealKubeconfigOptions, options?: KubeClientOptions): Promise<KubeClient>;
  /** A mark of "now" in the audit log, for `requestsSince`. */
  requestCount(): Promise<number>;
  /** The test users' requests since `mark` (a `requestCount()` taken earlier), in order. */
  requestsSince(mark: number): Promise<AuditedRequest[]>;
}

/**
 * Starts a real API server in the calling suite's beforeAll and closes it in its afterAll; call
 * it in a `describeWithRealKube` body. `client` are the options `connect` uses by default.
 */
export function realKubeForSuite(options: RealKubeOptions & { client?: KubeClientOptions } = {}): RealKubeSuite {
  let started: RealKubeApiServer | undefined;
  beforeAll(async () => {
    started = await startRealKubeApiServer(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  const server = (): RealKubeApiServer => {
    if (!started) throw new Error('realKubeForSuite: the server is read before its beforeAll started it (or starting it failed)');
    return started;
  };
  return {
    get server() {
      return server();
    },
    connect: (config = {}, clientOptions = options.client ?? {}) => KubeClient.connect({ inline: server().kubeconfig(config), ...clientOptions }),
    requestCount: () => server().requestCount(),
    requestsSince: (mark) => server().requests(mark),
  };
}

/** Starts etcd and kube-apiserver (a few seconds); call `close()` when done. */
export async function startRealKubeApiServer(options: RealKubeOptions = {}): Promise<RealKubeApiServer> {
  const found = findKubeBinary();
  if (!('binary' in found)) throw new Error(`${found.missing}; ${HOW_TO_POINT}`);
  const pki = await createTestPki();
  const dir = pki.dir;
  const children: ChildProcess[] = [];
  const close = async () => {
    for (const child of [...children].reverse()) await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, peerPort, metricsPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'server.crt'), pki.serverCertPem);
    fs.writeFileSync(path.join(dir, 'server.key'), pki.serverKeyPem, { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, 'tokens.csv'),
      `${TOKENS.admin},admin,uid-admin,"system:masters"\n${TOKENS.reader},reader,uid-reader\n${TOKENS.nobody},nobody,uid-nobody\n`,
      { mode: 0o600 },
    );
    fs.writeFileSync(path.join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], { cwd: dir });
    await run('openssl', ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], { cwd: dir });

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    children.push(startProcess(found.etcd, [
      '--name', 'test', '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `test=${peerUrl}`, '--initial-cluster-state', 'new',
      '--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`,
    ], path.join(dir, 'etcd.log')));

    const apiArgs = [
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      `--etcd-servers=${etcdUrl}`,
      `--tls-cert-file=${path.join(dir, 'server.crt')}`, `--tls-private-key-file=${path.join(dir, 'server.key')}`,
      `--client-ca-file=${pki.caFile}`,
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16', '--endpoint-reconciler-type=none', '--profiling=false',
      `--audit-policy-file=${path.join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${path.join(dir, 'audit.log')}`,
      '--audit-log-mode=blocking-strict',
    ];
    const apiserver = startProcess(found.binary, apiArgs, path.join(dir, 'kube-apiserver.log'));
    children.push(apiserver);
    const url = `https://127.0.0.1:${apiPort}`;

    const request: RealKubeApiServer['request'] = (method, pathAndQuery, body, requestOptions = {}) =>
      new Promise((resolve, reject) => {
        const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = https.request(`${url}${pathAndQuery}`, {
          method,
          ca: pki.caPem,
          headers: {
            authorization: `Bearer ${TOKENS[requestOptions.as ?? 'admin']}`,
            ...(text === undefined ? {} : { 'content-type': requestOptions.contentType ?? 'application/json' }),
          },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const answer = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = answer;
            try { parsed = JSON.parse(answer); } catch { /* plain text */ }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        });
        req.on('error', reject);
        req.end(text);
      });

    await waitReady(apiserver, request, path.join(dir, 'kube-apiserver.log'));
    for (const [collection, object] of [
      ['/apis/rbac.authorization.k8s.io/v1/clusterroles', READER_ROLE],
      ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', READER_BINDING],
    ] as const) {
      const answer = await request('POST', collection, object);
      if (answer.status !== 201) throw new Error(`creating ${collection}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    if (options.calico ?? true) await defineCalico(request);

    let marks = 0;
    const requests = async (since = 0): Promise<AuditedRequest[]> => {
      // A request to a path nobody uses marks "now": once it is in the log, so is everything before it.
      const mark = `/api/v1/namespaces/netpol-audit-mark-${++marks}`;
      await request('GET', mark);
      const auditFile = path.join(dir, 'audit.log');
      for (let attempt = 0; attempt < 100; attempt++) {
        const events = fs.readFileSync(auditFile, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
        const at = events.findIndex((event) => event.requestURI === mark);
        if (at >= 0) {
          return events.slice(0, at)
            .filter((event) => event.stage === 'ResponseComplete' && !String(event.user?.username).startsWith('system:'))
            .filter((event) => !String(event.requestURI).includes('netpol-audit-mark-'))
            .map((event) => {
              const uri = new URL(event.requestURI, url);
              return {
                verb: event.verb, path: uri.pathname, query: Object.fromEntries(uri.searchParams.entries()),
                user: event.user.username, code: event.responseStatus?.code ?? 0,
              };
            })
            .slice(since);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the audit log never showed the mark request');
    };

    return {
      url,
      pki,
      kubeconfig: (kubeconfigOptions = {}) => realKubeconfig(kubeconfigOptions.server ?? url, pki, kubeconfigOptions),
      request,
      requests,
      requestCount: async () => (await requests()).length,
      stopApiServer: () => stopProcess(apiserver),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function waitReady(apiserver: ChildProcess, request: RealKubeApiServer['request'], log: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited (${apiserver.exitCode}): ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    try {
      // Ready, and the namespace `default` made: the server's bootstrap controller creates it
      // after /readyz may already answer ok (on a loaded CI machine a POST into it failed).
      const ready = await request('GET', '/readyz');
      const answer = ready.status === 200 && ready.body === 'ok' ? await request('GET', '/api/v1/namespaces/default') : ready;
      if (answer !== ready && answer.status === 200) return;
      last = `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`kube-apiserver not ready in 90 s (last answer: ${last}); log: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
}

async function defineCalico(request: RealKubeApiServer['request']): Promise<void> {
  for (const definition of calicoDefinitions()) {
    const answer = await request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', definition);
    if (answer.status !== 201) throw new Error(`creating a Calico CRD: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  // Established, and the group in discovery.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const answer = await request('GET', '/apis/projectcalico.org/v3');
    if (answer.status === 200 && (answer.body?.resources ?? []).length >= CALICO_KINDS.length) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('projectcalico.org/v3 was not served 30 s after its CRDs were created');
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function realKubeconfig(server: string, pki: TestPki, options: RealKubeconfigOptions): string {
  const cluster: Record<string, unknown> = { server };
  const ca = options.ca ?? 'data';
  if (ca === 'data') cluster['certificate-authority-data'] = b64(pki.caPem);
  if (ca === 'file') cluster['certificate-authority'] = pki.caFile;
  if (options.insecure !== undefined) cluster['insecure-skip-tls-verify'] = options.insecure;
  const user: Record<string, unknown> = {};
  const who = options.user === undefined ? 'admin' : options.user;
  if (options.token !== undefined) user.token = options.token;
  else if (who !== null) user.token = TOKENS[who];
  if (options.clientCert === 'file') Object.assign(user, { 'client-certificate': pki.clientCertFile, 'client-key': pki.clientKeyFile });
  if (options.clientCert === 'data') Object.assign(user, { 'client-certificate-data': b64(pki.clientCertPem), 'client-key-data': b64(pki.clientKeyPem) });
  const context: Record<string, unknown> = { cluster: 'test-cluster', user: 'test-user' };
  if (options.namespace !== undefined) context.namespace = options.namespace;
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'test',
    clusters: [{ name: 'test-cluster', cluster }],
    users: [{ name: 'test-user', user }],
    contexts: [{ name: 'test', context }],
  }, null, 2);
}
