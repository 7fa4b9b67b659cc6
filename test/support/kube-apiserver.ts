/**
 * TEST SERVER — a local HTTPS server standing in for the Kubernetes API server, for the faults a
 * real API server cannot be made to produce on demand:
 *
 * - the next N requests answer 429 (with `Retry-After`) or 5xx, have their connection reset, or
 *   are answered late (`failNext`, `dropNext`, `delayNext`), trickled or too large (`trickleNext`, `oversizeNext`);
 * - a validating admission webhook's denial: writes of a named object answer 422 `Invalid` with
 *   the webhook's causes (`denyWrites`), checked after the object's own validation as on a real server.
 *
 * Everything else is tested against a real kube-apiserver (real-kube-apiserver.ts). Where this
 * server answers at all it answers as the real one (v1.26.3) does, and
 * test/targets/kube/test-apiserver.test.ts sends the same requests to both to keep it so:
 * plain-text `404 page not found` for a group or path it does not serve; objects stored in the
 * real form, defaults and validation (kube-apiserver-kinds.ts); server-side apply with
 * managedFields and conflicts, a no-op apply that changes nothing, unconditional PUT without
 * resourceVersion, `?dryRun=All`, paged lists (kube-apiserver-store.ts); 401 for an unknown token,
 * 403 for an anonymous or forbidden user, with the real messages.
 *
 * What it does not do (the real server does): merge and JSON patches (415 here), POST, watch,
 * discovery, RBAC beyond "this user may do everything / nothing", consistent list snapshots.
 * It serves networking.k8s.io/v1 NetworkPolicy, projectcalico.org/v3 GlobalNetworkPolicy /
 * NetworkPolicy / Profile (unless `calico: false`) and core v1 Namespace; TLS with its own CA
 * (test-pki.ts) and optional client certificates (CN = user name). It listens on 127.0.0.1 only,
 * on a random port.
 */
import { IncomingMessage, ServerResponse } from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import { TLSSocket } from 'tls';
import { parse as parseYaml } from 'yaml';
import { BUILT_IN_GROUPS, failure, isJson, Json, SERVED_TYPES, ServedType, statusDetails, StoreAnswer } from './kube-apiserver-kinds';
import { ObjectStore } from './kube-apiserver-store';
import { createTestPki, removeTestPki, TestPki } from './test-pki';

/** Who a bearer token authenticates. */
export interface TokenInfo {
  user: string;
  /** Every request of this user is answered 403 Forbidden. @default false */
  forbidden?: boolean;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Authenticated user, if any. */
  user?: string;
}

type Fault =
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'trickle'; chunks: number; everyMs: number }
  | { kind: 'oversize'; bytes: number };

/** A validating admission webhook's denial of writes of one object (by name). */
export interface AdmissionDenial {
  /** The webhook's name, as in `admission webhook "<webhook>" denied the request`. */
  webhook: string;
  /** Field causes the webhook reports (`details.causes`). */
  causes: Array<{ reason: string; message: string; field: string }>;
}

/** Options of `startKubeApiServer`. */
export interface KubeApiServerOptions {
  /** Accepted bearer tokens. @default { 'good-token': alice, 'forbidden-token': mallory (forbidden) } */
  tokens?: Record<string, TokenInfo>;
  /** Serve projectcalico.org/v3, as a cluster with the Calico API server does. @default true */
  calico?: boolean;
}

/** Options of `KubeApiServer.kubeconfig`. */
export interface TestKubeconfigOptions {
  /** Bearer token of the user. @default 'good-token' (no token when null) */
  token?: string | null;
  /** Use the generated client certificate (files) instead of / besides the token. @default false */
  clientCert?: 'file' | 'data';
  /** How the CA reaches the client. @default 'data' */
  ca?: 'file' | 'data' | 'none';
  /** Value written as `insecure-skip-tls-verify` (omitted when undefined). */
  insecure?: unknown;
  /** Context namespace. @default omitted */
  namespace?: string;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  pki: TestPki;
  tokens: Map<string, TokenInfo>;
  requests: RecordedRequest[];
  store: ObjectStore;
  /** The next `count` requests get `status` (429 or 5xx) with a `Status` body. */
  failNext(count: number, status: 429 | 500 | 502 | 503 | 504, retryAfterSeconds?: number): void;
  /** The next `count` requests have their connection destroyed without an answer. */
  dropNext(count: number): void;
  /** The next `count` requests are answered only after `ms` milliseconds. */
  delayNext(count: number, ms: number): void;
  /**
   * The next `count` requests get a 200 whose JSON body arrives one byte every `everyMs`
   * milliseconds, `chunks` bytes in all: each byte resets an idle timeout, so only a total
   * deadline ends the request in time.
   */
  trickleNext(count: number, chunks: number, everyMs: number): void;
  /** The next `count` requests get a 200 with a JSON body of `bytes` bytes. */
  oversizeNext(count: number, bytes: number): void;
  /** Every later write (apply or update) of an object named `name` is denied by an admission webhook: 422 Invalid. */
  denyWrites(name: string, denial: AdmissionDenial): void;
  /** A kubeconfig (YAML text) with one context `test` for this server. */
  kubeconfig(options?: TestKubeconfigOptions): string;
  close(): Promise<void>;
}

/** An answer: a JSON body, or plain text (the real server's `404 page not found`). */
type Answer = StoreAnswer | { status: number; text: string };

/** What the real server answers for a path no API group it serves handles. */
const PAGE_NOT_FOUND: Answer = { status: 404, text: '404 page not found\n' };
const RESOURCE_NOT_FOUND = (): StoreAnswer => failure(404, 'NotFound', 'the server could not find the requested resource', {});
const ANONYMOUS: TokenInfo = { user: 'system:anonymous', forbidden: true };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** What a path asks for, read the way the real server's RequestInfoFactory reads it. */
interface RequestInfo {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  /** Parts after the name (a subresource); nothing this server serves. */
  rest: string[];
}

function requestInfo(pathname: string): RequestInfo | undefined {
  const parts = pathname.split('/').filter((part) => part !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [group, version, rest] = ['', parts[1], parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2) rest = rest.slice(2); // `/namespaces/{ns}/{resource}/...`; else the Namespace itself
  }
  return { group, version, resource: rest[0], namespace, name: rest[1], rest: rest.slice(2) };
}

/** The Kubernetes verb of a request, as RBAC and its messages name it. */
function verbOf(method: string, info: RequestInfo | undefined): string {
  const collection = info !== undefined && info.name === undefined;
  switch (method) {
    case 'GET': return collection ? 'list' : 'get';
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return collection ? 'deletecollection' : 'delete';
    default: return method.toLowerCase();
  }
}

/** The real RBAC denial, for a resource or a non-resource path. */
function forbidden(user: string, verb: string, info: RequestInfo | undefined, path: string): StoreAnswer {
  if (info === undefined) return failure(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`, {});
  const resource = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  const subject = info.name === undefined ? resource : `${resource} "${info.name}"`;
  const scope = info.namespace === undefined ? 'at the cluster scope' : `in the namespace "${info.namespace}"`;
  return failure(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${verb} resource "${info.resource}" in API group "${info.group}" ${scope}`,
    statusDetails(info.group, info.resource, info.name));
}

/** The served kind a request addresses, with its namespace and name; undefined when none is served there. */
function servedTarget(info: RequestInfo, calico: boolean): { type: ServedType; namespace?: string; name?: string } | undefined {
  if (info.rest.length > 0) return undefined;
  const type = SERVED_TYPES.find((candidate) =>
    candidate.group === info.group && candidate.version === info.version && candidate.plural === info.resource && (calico || candidate.group !== 'projectcalico.org'));
  if (type === undefined) return undefined;
  if (type.kind === 'Namespace') return { type, name: info.name };
  if (!type.namespaced) return info.namespace === undefined ? { type, name: info.name } : undefined;
  if (info.namespace === undefined && info.name !== undefined) return undefined;
  return { type, namespace: info.namespace, name: info.name };
}

const PATCH_TYPES_NOT_SERVED = ['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json'];
const OPTIONS_KIND: Record<string, string> = { PATCH: 'PatchOptions', PUT: 'UpdateOptions', DELETE: 'DeleteOptions' };

/** Starts the test API server with a fresh PKI. Call `close()` when done. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const pki = await createTestPki();
  const tokens = new Map<string, TokenInfo>(
    Object.entries(options.tokens ?? { 'good-token': { user: 'alice' }, 'forbidden-token': { user: 'mallory', forbidden: true } }),
  );
  const calico = options.calico ?? true;
  const store = new ObjectStore();
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const denials = new Map<string, AdmissionDenial>();

  const server = https.createServer(
    { key: pki.serverKeyPem, cert: pki.serverCertPem, ca: [pki.caPem], requestCert: true, rejectUnauthorized: false },
    (req, res) => void handle(req, res).catch((error: unknown) => send(res, failure(500, 'InternalError', String(error)))),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query, contentType: req.headers['content-type'] };
    requests.push(record);
    const body = await readBody(req);

    const fault = faults.shift();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'trickle') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{');
      for (let i = 0; i < fault.chunks && !res.destroyed; i++) {
        await new Promise((resolve) => setTimeout(resolve, fault.everyMs));
        res.write(' ');
      }
      res.end('}');
      return;
    }
    if (fault?.kind === 'oversize') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"pad":"${'x'.repeat(Math.max(0, fault.bytes - 10))}"}`);
      return;
    }
    if (fault?.kind === 'status') {
      const answer =
        fault.status === 429
          ? failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: fault.retryAfterSeconds ?? 1 })
          : failure(fault.status, fault.status === 503 ? 'ServiceUnavailable' : 'InternalError', 'the server is currently unable to handle the request');
      if (fault.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      send(res, answer);
      return;
    }

    const user = authenticate(req);
    if (user === undefined) {
      send(res, failure(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    record.user = user.user;
    send(res, route(record, user, body));
  }

  /** The user of a client certificate or bearer token; anonymous without either; undefined for an unknown token (401). */
  function authenticate(req: IncomingMessage): TokenInfo | undefined {
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate().subject;
      if (subject !== undefined && typeof subject.CN === 'string') return { user: subject.CN };
    }
    const header = req.headers.authorization;
    if (header === undefined) return ANONYMOUS;
    const match = /^Bearer (.+)$/.exec(header);
    return match === null ? undefined : tokens.get(match[1]);
  }

  function route(request: RecordedRequest, user: TokenInfo, body: string): Answer {
    const info = requestInfo(request.path);
    if (user.forbidden) return forbidden(user.user, verbOf(request.method, info), info, request.path);
    if (info === undefined) return PAGE_NOT_FOUND;
    const target = servedTarget(info, calico);
    if (target === undefined) return BUILT_IN_GROUPS.includes(info.group) ? RESOURCE_NOT_FOUND() : PAGE_NOT_FOUND;
    const { type, namespace, name } = target;

    const dryRunValue = request.query.dryRun;
    const optionsKind = OPTIONS_KIND[request.method];
    if (dryRunValue !== undefined && dryRunValue !== 'All' && optionsKind !== undefined) {
      const message = `Unsupported value: []string{"${dryRunValue}"}: supported values: "All"`;
      return failure(422, 'Invalid', `${optionsKind}.meta.k8s.io "" is invalid: dryRun: ${message}`, {
        group: 'meta.k8s.io', kind: optionsKind, causes: [{ reason: 'FieldValueNotSupported', message, field: 'dryRun' }],
      });
    }
    const dryRun = dryRunValue === 'All';

    if (name === undefined) {
      if (request.method !== 'GET') return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource (this test server lists, it does not create)');
      const limit = request.query.limit;
      if (limit !== undefined && !/^-?\d+$/.test(limit)) return failure(400, 'BadRequest', `strconv.ParseInt: parsing "${limit}": invalid syntax`);
      return store.list(type, namespace, limit === undefined ? undefined : Number(limit), request.query.continue);
    }
    switch (request.method) {
      case 'GET':
        return store.get(type, namespace, name);
      case 'DELETE':
        return store.delete(type, namespace, name, { dryRun });
      case 'PATCH':
      case 'PUT':
        return write(request, type, namespace, name, body, dryRun);
      default:
        return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  function write(request: RecordedRequest, type: ServedType, namespace: string | undefined, name: string, text: string, dryRun: boolean): StoreAnswer {
    const isApply = request.method === 'PATCH';
    const contentType = (request.contentType ?? '').split(';')[0].trim();
    const manager = request.query.fieldManager ?? '';
    if (isApply) {
      if (PATCH_TYPES_NOT_SERVED.includes(contentType)) {
        return failure(415, 'UnsupportedMediaType', `${contentType}: this test server implements only server-side apply (application/apply-patch+yaml)`, {});
      }
      if (contentType !== 'application/apply-patch+yaml') return failure(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
      if (manager === '') {
        return failure(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
          group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
        });
      }
    } else if (contentType !== 'application/json' && contentType !== 'application/yaml') {
      return failure(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
    }
    let object: unknown;
    try {
      object = contentType === 'application/json' ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      return failure(400, 'BadRequest', `error decoding ${contentType === 'application/json' ? 'JSON' : 'YAML'}: ${String(error)}`);
    }
    if (!isJson(object)) {
      const what = Array.isArray(object) ? 'array' : typeof object === 'string' ? 'string' : 'number';
      return failure(400, 'BadRequest', `error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${what} into Go value of type map[string]interface {}`);
    }
    const config = object;
    const metadata = isJson(config.metadata) ? config.metadata : {};
    if (metadata.name === undefined || metadata.name === '') {
      return failure(400, 'BadRequest', `the name of the object (${name} based on URL) was undeterminable: name must be provided`);
    }
    if (metadata.name !== name) return failure(400, 'BadRequest', `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`);
    if (type.namespaced && metadata.namespace !== undefined && metadata.namespace !== namespace) {
      return failure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const apiVersion = type.group === '' ? type.version : `${type.group}/${type.version}`;
    if (isApply && config.apiVersion !== apiVersion) {
      return failure(400, 'BadRequest', `Incorrect version specified in apply patch. Specified patch version: ${String(config.apiVersion)}, expected: ${apiVersion}`);
    }
    if (config.kind !== type.kind || config.apiVersion !== apiVersion) {
      // What the real server answers for an apply whose kind is not the path's (a 500, without reason).
      const gvk = `${type.group}/${type.version}, Kind=${String(config.kind)}`;
      return failure(500, '', `failed to create typed patch object (${String(metadata.namespace ?? '')}/${name}; ${gvk}): no corresponding type for ${gvk}`);
    }
    if (type.namespaced && namespace !== undefined && !store.namespaceExists(namespace)) {
      return failure(404, 'NotFound', `namespaces "${namespace}" not found`, statusDetails('', 'namespaces', namespace));
    }
    const writeToStore = (options: { dryRun: boolean }) =>
      isApply
        ? store.apply(type, namespace, name, config, manager, request.query.force === 'true', options)
        : store.update(type, namespace, name, config, manager === '' ? 'unknown' : manager, options);
    const denial = denials.get(name);
    if (denial !== undefined) {
      // A validating webhook sees only objects that passed the server's own validation.
      const trial = writeToStore({ dryRun: true });
      if (trial.status >= 300) return trial;
      return failure(422, 'Invalid', `admission webhook "${denial.webhook}" denied the request`, { ...statusDetails(type.group, type.kind, name), causes: denial.causes });
    }
    return writeToStore({ dryRun });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    pki,
    tokens,
    requests,
    store,
    failNext: (count, status, retryAfterSeconds) => {
      for (let i = 0; i < count; i++) faults.push({ kind: 'status', status, retryAfterSeconds });
    },
    dropNext: (count) => {
      for (let i = 0; i < count; i++) faults.push({ kind: 'drop' });
    },
    delayNext: (count, ms) => {
      for (let i = 0; i < count; i++) faults.push({ kind: 'delay', ms });
    },
    trickleNext: (count, chunks, everyMs) => {
      for (let i = 0; i < count; i++) faults.push({ kind: 'trickle', chunks, everyMs });
    },
    oversizeNext: (count, bytes) => {
      for (let i = 0; i < count; i++) faults.push({ kind: 'oversize', bytes });
    },
    denyWrites: (name, denial) => {
      denials.set(name, denial);
    },
    kubeconfig: (kubeconfigOptions = {}) => testKubeconfig(url, pki, kubeconfigOptions),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await removeTestPki(pki);
    },
  };
}

/** A kubeconfig for the test server, as YAML text (JSON is YAML). */
function testKubeconfig(url: string, pki: TestPki, options: TestKubeconfigOptions): string {
  const cluster: Json = { server: url };
  const ca = options.ca ?? 'data';
  if (ca === 'data') cluster['certificate-authority-data'] = b64(pki.caPem);
  if (ca === 'file') cluster['certificate-authority'] = pki.caFile;
  if (options.insecure !== undefined) cluster['insecure-skip-tls-verify'] = options.insecure;
  const user: Json = {};
  const token = options.token === undefined ? 'good-token' : options.token;
  if (token !== null) user.token = token;
  if (options.clientCert === 'file') Object.assign(user, { 'client-certificate': pki.clientCertFile, 'client-key': pki.clientKeyFile });
  if (options.clientCert === 'data') Object.assign(user, { 'client-certificate-data': b64(pki.clientCertPem), 'client-key-data': b64(pki.clientKeyPem) });
  const context: Json = { cluster: 'test-cluster', user: 'test-user' };
  if (options.namespace !== undefined) context.namespace = options.namespace;
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      clusters: [{ name: 'test-cluster', cluster }],
      users: [{ name: 'test-user', user }],
      contexts: [{ name: 'test', context }],
    },
    null,
    2,
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = answer.status;
  if ('text' in answer) {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(answer.text);
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(answer.body));
}
