/**
 * A small Kubernetes REST client for the kinds this project writes: server-side apply, get, list,
 * replace and delete, over axios with the kubeconfig's TLS and credentials.
 *
 * Create one per provider call (`KubeClient.connect(...)`): nothing lives at module level, because
 * dynamic providers are serialized and re-loaded elsewhere.
 *
 * Failure handling: 429 (honouring `Retry-After`), 5xx and dropped or refused connections are
 * retried with exponential backoff, a bounded number of times; everything else fails at once.
 * Every failure is an `ApiError` that names the object and carries the API's `Status` message,
 * reason and field causes, e.g.
 * `networking.k8s.io/v1 NetworkPolicy default/web: 422 Invalid: ... spec.podSelector.matchLabels: Invalid value: ...`.
 */
import axios, { AxiosInstance } from 'axios';
import * as https from 'https';
import { ApiError, failureCode, InputError, isRecord, StatusCause, stringField } from '../api-errors';
import { ClusterConnection, KubeconfigOptions, loadKubeconfig } from './kubeconfig';
import { CollectionRef, collectionPath, describeRef, ObjectRef, objectPath, resourceTypeFor } from './resources';
import { messageWithCauses, statusCauses } from './status';

export type { CollectionRef, ObjectRef } from './resources';

/** Tuning of requests and retries. */
export interface KubeClientOptions {
  /** Time allowed for one request. @default 30000 */
  timeoutMs?: number;
  /**
   * Total tries for a retryable failure (429, 5xx, connection reset/refused). Timeouts are not
   * retried: a request that got no answer in `timeoutMs` fails at once. @default 4
   */
  maxAttempts?: number;
  /** Wait before the first retry; doubled on each further retry. @default 250 */
  baseDelayMs?: number;
  /** Longest single wait, for backoff and for `Retry-After`. @default 30000 */
  maxDelayMs?: number;
  /** Objects per page for `list` (the API's `limit`; `continue` tokens are followed). @default 500 */
  pageSize?: number;
}

/** Options of a server-side apply. */
export interface ApplyOptions {
  /** Field manager that owns the applied fields. @default 'pulumi-netpolicy' */
  fieldManager?: string;
  /** Take over fields owned by other managers instead of failing with 409. @default false */
  force?: boolean;
}

/** Object metadata as the API returns it (only the fields this project reads are typed). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** A Kubernetes API object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** The default field manager of this project. */
export const DEFAULT_FIELD_MANAGER = 'pulumi-netpolicy';

/** Network failures worth another try: the request may not have reached the server. */
// Plain arrays rather than Sets: this module may end up inside a serialized dynamic provider.
const RETRYABLE_CODES: readonly string[] = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ERR_SOCKET_CONNECTION_TIMEOUT'];
const TLS_CODES: readonly string[] = [
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
];

interface RequestSpec {
  method: 'GET' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  /** Names the object in messages. */
  what: string;
  params?: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

interface Answer {
  status: number;
  data: unknown;
}

/** A client for one cluster and user. Cheap to create; create one per call. */
export class KubeClient {
  private readonly http: AxiosInstance;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  /** Loads the kubeconfig (see `loadKubeconfig`) and returns a client for its context. */
  static async connect(options: KubeconfigOptions & KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await loadKubeconfig(options), options);
  }

  constructor(
    readonly connection: ClusterConnection,
    options: KubeClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.pageSize = Math.max(1, options.pageSize ?? 500);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'pulumi-netpolicy' };
    if (connection.token !== undefined) headers.Authorization = `Bearer ${connection.token}`;
    this.http = axios.create({
      baseURL: connection.server,
      timeout: this.timeoutMs,
      headers,
      proxy: false,
      maxRedirects: 0,
      validateStatus: () => true,
      transformResponse: [(data: unknown) => data],
      transitional: { clarifyTimeoutError: true },
      httpsAgent: new https.Agent({
        ca: connection.caPem,
        cert: connection.clientCertificatePem,
        key: connection.clientKeyPem,
        rejectUnauthorized: !connection.insecureSkipTlsVerify,
        keepAlive: false,
      }),
    });
  }

  /**
   * Server-side apply of `object` (`PATCH ...?fieldManager=...&force=...`,
   * `Content-Type: application/apply-patch+yaml`). Creates the object or updates the fields this
   * manager owns; a namespaced object without namespace goes to the context's namespace.
   * @returns the object as stored by the API server.
   */
  async apply(object: unknown, options: ApplyOptions = {}): Promise<KubeObject> {
    const desired = this.withNamespace(checkObject(object));
    const ref = refOf(desired);
    const fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
    const answer = await this.request({
      method: 'PATCH',
      path: objectPath(ref),
      what: describeRef(ref),
      params: { fieldManager, force: String(options.force ?? false) },
      body: desired,
      contentType: 'application/apply-patch+yaml',
    });
    if (answer.status >= 300) throw this.statusError(describeRef(ref), answer, 1);
    return asObject(answer.data, describeRef(ref));
  }

  /** Reads one object; `undefined` when it does not exist (404). */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const answer = await this.request({ method: 'GET', path: objectPath(ref), what: describeRef(ref) });
    if (answer.status === 404) return undefined;
    if (answer.status >= 300) throw this.statusError(describeRef(ref), answer, 1);
    return asObject(answer.data, describeRef(ref));
  }

  /**
   * Replaces an object (`PUT`). `metadata.resourceVersion` must be the stored one, otherwise the
   * API answers 409 Conflict (optimistic concurrency).
   */
  async replace(object: unknown, options: { fieldManager?: string } = {}): Promise<KubeObject> {
    const desired = this.withNamespace(checkObject(object));
    const ref = refOf(desired);
    const answer = await this.request({
      method: 'PUT',
      path: objectPath(ref),
      what: describeRef(ref),
      params: { fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER },
      body: desired,
      contentType: 'application/json',
    });
    if (answer.status >= 300) throw this.statusError(describeRef(ref), answer, 1);
    return asObject(answer.data, describeRef(ref));
  }

  /** Deletes one object. @returns `'deleted'`, or `'absent'` when it was already gone (404). */
  async delete(ref: ObjectRef): Promise<'deleted' | 'absent'> {
    const answer = await this.request({ method: 'DELETE', path: objectPath(ref), what: describeRef(ref) });
    if (answer.status === 404) return 'absent';
    if (answer.status >= 300) throw this.statusError(describeRef(ref), answer, 1);
    return 'deleted';
  }

  /** Lists the objects of a kind (one namespace, or all), following `continue` tokens. */
  async list(ref: CollectionRef): Promise<KubeObject[]> {
    resourceTypeFor(ref.apiVersion, ref.kind);
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const params: Record<string, string> = { limit: String(this.pageSize), ...(token === undefined ? {} : { continue: token }) };
      const answer = await this.request({ method: 'GET', path: collectionPath(ref), what: describeRef(ref), params });
      if (answer.status >= 300) throw this.statusError(describeRef(ref), answer, 1);
      const list = answer.data;
      if (!isRecord(list) || !Array.isArray(list.items)) {
        throw new ApiError(`${describeRef(ref)}: the API returned no list`, { status: answer.status });
      }
      for (const item of list.items) {
        // List items carry no apiVersion/kind; put them back so items can be applied as they are.
        items.push(asObject({ apiVersion: ref.apiVersion, kind: ref.kind, ...(isRecord(item) ? item : {}) }, describeRef(ref)));
      }
      token = isRecord(list.metadata) ? stringField(list.metadata, 'continue') : undefined;
    } while (token !== undefined && token !== '');
    return items;
  }

  private withNamespace(object: KubeObject): KubeObject {
    const type = resourceTypeFor(object.apiVersion, object.kind);
    if (!type.namespaced) {
      const { namespace: _ignored, ...metadata } = object.metadata;
      return { ...object, metadata };
    }
    if (object.metadata.namespace !== undefined) return object;
    return { ...object, metadata: { ...object.metadata, namespace: this.connection.namespace } };
  }

  /** Sends one request, retrying 429, 5xx and dropped connections. Returns the final answer. */
  private async request(spec: RequestSpec): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        const response = await this.http.request({
          method: spec.method,
          url: spec.path,
          params: spec.params,
          data: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          headers: spec.contentType === undefined ? undefined : { 'Content-Type': spec.contentType },
        });
        answer = { status: response.status, data: parseBody(response.data) };
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) return answer;
        if (attempt >= this.maxAttempts) throw this.statusError(spec.what, answer, attempt);
        await sleep(this.retryDelay(attempt, response.headers['retry-after']));
      } catch (error) {
        if (error instanceof ApiError) throw error;
        const code = failureCode(error);
        if (!RETRYABLE_CODES.includes(code) || attempt >= this.maxAttempts) throw this.networkError(spec.what, code, attempt);
        await sleep(this.retryDelay(attempt, undefined));
      }
    }
  }

  private retryDelay(attempt: number, retryAfter: unknown): number {
    const backoff = this.baseDelayMs * 2 ** (attempt - 1);
    const header = typeof retryAfter === 'string' ? retryAfter.trim() : '';
    let requested: number | undefined;
    if (/^\d+$/.test(header)) requested = Number(header) * 1000;
    else if (header !== '' && !Number.isNaN(Date.parse(header))) requested = Math.max(0, Date.parse(header) - Date.now());
    return Math.min(this.maxDelayMs, requested ?? backoff);
  }

  private statusError(what: string, answer: Answer, attempts: number): ApiError {
    const gaveUp = attempts > 1 ? `giving up after ${attempts} attempts: ` : '';
    const body = answer.data;
    if (!isRecord(body) || body.kind !== 'Status') {
      const text = typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body ?? '').slice(0, 200);
      return new ApiError(`${what}: ${gaveUp}${answer.status} (not a Kubernetes Status): ${text}`, { status: answer.status, attempts });
    }
    const reason = stringField(body, 'reason') ?? 'Unknown';
    const causes = statusCauses(body);
    const message = messageWithCauses(stringField(body, 'message') ?? '(no message)', causes);
    return new ApiError(`${what}: ${gaveUp}${answer.status} ${reason}: ${message}${this.hint(answer.status, causes)}`, {
      status: answer.status,
      reason,
      causes,
      attempts,
    });
  }

  private hint(status: number, causes: StatusCause[]): string {
    const { context, user } = this.connection;
    if (status === 401) {
      return ` — the API server did not accept the credentials of user "${user}" (context "${context}"); check its token or client certificate`;
    }
    if (status === 403) return ` — user "${user}" (context "${context}") lacks the RBAC permission for this`;
    if (status === 409 && causes.some((cause) => cause.reason === 'FieldManagerConflict')) {
      return ' — another field manager owns these fields; apply with force: true to take them over';
    }
    return '';
  }

  private networkError(what: string, code: string, attempts: number): ApiError {
    const { server, context, cluster } = this.connection;
    const gaveUp = attempts > 1 ? `giving up after ${attempts} attempts: ` : '';
    let message: string;
    if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
      message = `no answer from ${server} within ${this.timeoutMs} ms (context "${context}")`;
    } else if (code.startsWith('ERR_OSSL') || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
      message = `the TLS client credentials of user "${this.connection.user}" could not be used (${code}); check client-certificate and client-key in the kubeconfig`;
    } else if (TLS_CODES.includes(code)) {
      message = `TLS verification of ${server} failed (${code}); set certificate-authority(-data) of cluster "${cluster}" in the kubeconfig`;
    } else {
      message = `cannot reach ${server} (${code}, context "${context}")`;
    }
    return new ApiError(`${what}: ${gaveUp}${message}`, { code, attempts });
  }
}

/** Checks the shape of an object to write: apiVersion, kind, metadata.name (and a known kind). */
function checkObject(object: unknown): KubeObject {
  if (!isRecord(object)) throw new InputError('must be an object', 'kubernetes object');
  const apiVersion = stringField(object, 'apiVersion');
  const kind = stringField(object, 'kind');
  if (apiVersion === undefined || kind === undefined) {
    throw new InputError('needs apiVersion and kind, e.g. networking.k8s.io/v1 NetworkPolicy', 'kubernetes object');
  }
  const metadata = object.metadata;
  const name = isRecord(metadata) ? stringField(metadata, 'name') : undefined;
  if (!isRecord(metadata) || name === undefined || name === '') {
    throw new InputError('needs metadata.name', `${apiVersion} ${kind}`);
  }
  const namespace = metadata.namespace;
  if (namespace !== undefined && typeof namespace !== 'string') {
    throw new InputError('metadata.namespace must be a string', `${apiVersion} ${kind} ${name}`);
  }
  resourceTypeFor(apiVersion, kind);
  return { ...object, apiVersion, kind, metadata: { ...metadata, name, namespace } };
}

function refOf(object: KubeObject): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace };
}

function asObject(data: unknown, what: string): KubeObject {
  if (isRecord(data) && typeof data.apiVersion === 'string' && typeof data.kind === 'string' && isRecord(data.metadata)) {
    const name = data.metadata.name;
    if (typeof name === 'string') return { ...data, apiVersion: data.apiVersion, kind: data.kind, metadata: { ...data.metadata, name } };
  }
  throw new ApiError(`${what}: the API returned something that is not an object with metadata.name`);
}

function parseBody(data: unknown): unknown {
  if (typeof data !== 'string' || data === '') return data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
