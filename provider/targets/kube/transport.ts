/**
 * How the Kubernetes client talks to the API server: one axios instance with the kubeconfig's TLS
 * and credentials, retries and the errors that name what failed.
 *
 * 429 (honouring `Retry-After`), 5xx and dropped or refused connections are retried with
 * exponential backoff, a bounded number of times; everything else fails at once. A failure is an
 * `ApiError` carrying the API's `Status` message, reason and field causes, or, when no answer
 * came, what to check (TLS, credentials, reachability). Token and key material never appear.
 */
import axios, { AxiosInstance } from 'axios';
import * as https from 'https';
import { ApiError, failureCode, StatusCause, stringField } from '../api-errors';
import { isRecord } from '../../model/common';
import { shown } from '../../model/echo';
import { mebibytes } from '../../model/text-limits';
import { ClusterConnection } from './kubeconfig';
import { messageWithCauses, statusCauses } from './status';

/** Tuning of requests and retries. */
export interface TransportOptions {
  /**
   * Time allowed for one request, from sending it to the last byte of the answer (an answer that
   * keeps trickling in is cut off too). @default 30000
   */
  timeoutMs?: number;
  /** Largest answer body read; a larger one fails the request. @default 64 MiB */
  maxResponseBytes?: number;
  /**
   * Total tries for a retryable failure (429, 5xx, connection reset/refused). Timeouts are not
   * retried: a request that got no answer in `timeoutMs` fails at once. @default 4
   */
  maxAttempts?: number;
  /** Wait before the first retry; doubled on each further retry. @default 250 */
  baseDelayMs?: number;
  /** Longest single wait, for backoff and for `Retry-After`. @default 30000 */
  maxDelayMs?: number;
}

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

/** One request, by a path built from the resource table (resources.ts), never from user text. */
export interface RequestSpec {
  method: 'GET' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  /** Names the object in messages. */
  what: string;
  params?: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

/** The API's answer: its status and the body, parsed as JSON when it is JSON. */
export interface Answer {
  status: number;
  data: unknown;
}

/** Requests to one cluster as one user. Cheap to create; nothing lives at module level. */
export class KubeTransport {
  private readonly http: AxiosInstance;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly connection: ClusterConnection,
    options: TransportOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'pulumi-netpolicy' };
    if (connection.token !== undefined) headers.Authorization = `Bearer ${connection.token}`;
    this.http = axios.create({
      baseURL: connection.server,
      timeout: this.timeoutMs,
      maxContentLength: this.maxResponseBytes,
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
        ...(connection.tlsServerName !== undefined ? { servername: connection.tlsServerName } : {}),
        keepAlive: false,
      }),
    });
  }

  /** Sends one request, retrying 429, 5xx and dropped connections. Returns the final answer. */
  async request(spec: RequestSpec): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      // axios' own timeout is reset by every byte that arrives; this one is not.
      const deadline = AbortSignal.timeout(this.timeoutMs);
      try {
        const response = await this.http.request({
          signal: deadline,
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
        const code = deadline.aborted ? 'ETIMEDOUT' : tooLarge(error) ? 'ERR_RESPONSE_TOO_LARGE' : failureCode(error);
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

  /**
   * The `ApiError` for an answer that is not a success: the API's `Status` reason, message and
   * field causes, and a hint for 401, 403 and field manager conflicts.
   */
  statusError(what: string, answer: Answer, attempts: number): ApiError {
    const gaveUp = attempts > 1 ? `giving up after ${attempts} attempts: ` : '';
    const body = answer.data;
    if (!isRecord(body) || body.kind !== 'Status') {
      const text = shown(typeof body === 'string' ? body.trim() : JSON.stringify(body ?? ''), 200);
      return new ApiError(`${what}: ${gaveUp}${answer.status} (not a Kubernetes Status): ${text}`, { status: answer.status, attempts });
    }
    const reason = stringField(body, 'reason') ?? 'Unknown';
    const causes = statusCauses(body);
    const message = messageWithCauses(stringField(body, 'message') ?? '(no message)', causes);
    const aboutAnObject = isRecord(body.details) && typeof body.details.name === 'string';
    const hint = answer.status === 404 && !aboutAnObject ? NOT_SERVED : this.hint(answer.status, causes);
    return new ApiError(`${what}: ${gaveUp}${answer.status} ${reason}: ${message}${hint}`, {
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
    } else if (code === 'ERR_RESPONSE_TOO_LARGE') {
      message = `the answer from ${server} is larger than ${mebibytes(this.maxResponseBytes)} (context "${context}"); is this an API server?`;
    } else if (code.startsWith('ERR_OSSL') || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
      message = `the TLS client credentials of user "${this.connection.user}" could not be used (${code}); check client-certificate and client-key in the kubeconfig`;
    } else if (TLS_CODES.includes(code)) {
      message = this.connection.caPem === undefined
        ? `TLS verification of ${server} failed (${code}); set certificate-authority(-data) of cluster "${cluster}" in the kubeconfig`
        : `TLS verification of ${server} failed (${code}): the certificate-authority(-data) of cluster "${cluster}" in the kubeconfig is not the CA that signed the server's certificate; give the cluster's own CA`;
    } else {
      message = `cannot reach ${server} (${code}, context "${context}")`;
    }
    return new ApiError(`${what}: ${gaveUp}${message}`, { code, attempts });
  }
}

/** Said of a 404 that is not about one object: the path itself is not served. */
const NOT_SERVED = ' — the API server does not serve this kind; is the API that provides it installed (projectcalico.org/v3: the Calico API server)?';

/**
 * Whether a 404 says that the object `name` does not exist. The API server answers so with a
 * `NotFound` Status naming the object; a path it does not serve at all (a group that is not
 * installed) gets a plain-text `404 page not found`, which must not read as "absent".
 */
export function isObjectNotFound(answer: Answer, name: string): boolean {
  const body = answer.data;
  return answer.status === 404 && isRecord(body) && body.kind === 'Status' && body.reason === 'NotFound' && isRecord(body.details) && body.details.name === name;
}

/** axios' error for a body over `maxContentLength`. */
function tooLarge(error: unknown): boolean {
  return error instanceof Error && failureCode(error) === 'ERR_BAD_RESPONSE' && error.message.includes('maxContentLength');
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
