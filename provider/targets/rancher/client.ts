/**
 * Rancher 1.x network API client: reads and writes the network policy of one environment
 * (project) through `/v2-beta/projects/{project}/networks/{network}`, as the seed describes.
 *
 * `putNetwork` reads the network first and sends the same object back with only
 * `defaultPolicyAction` and `policy` replaced, so that every other field of the network stays as
 * Rancher has it. Authentication is HTTP basic with an API key pair. Ids are checked against a
 * strict pattern before they reach the URL. Errors carry Rancher's error body
 * (`{type: "error", status, code, message, fieldName}`); they never contain the key pair.
 *
 * Create nothing at module level: dynamic providers are serialized and re-loaded elsewhere.
 */
import axios, { AxiosInstance } from 'axios';
import * as https from 'https';
import { ApiError, ClientInputError, failureCode, stringField } from '../api-errors';
import { isRecord } from '../../model/common';
import { shown } from '../../model/echo';
import { mebibytes } from '../../model/text-limits';
import { proxyFor } from '../proxy-env';

/** Which network of which Rancher environment, and the API key pair to use. */
export interface RancherNetworkTarget {
  /** Rancher server URL, e.g. `https://rancher.example:8443` (no credentials in it). */
  url: string;
  /** Environment (project) id, e.g. `1a5`. Letters and digits only. */
  project: string;
  /** Network id, e.g. `1n5`. Letters and digits only. */
  network: string;
  /** API access key (basic auth user name). */
  accessKey: string;
  /** API secret key (basic auth password). Secret. */
  secretKey: string;
  /** PEM CA bundle for an https URL. @default the system's roots */
  caPem?: string;
  /** Time allowed for one request, to the last byte of the answer. @default 30000 */
  timeoutMs?: number;
  /** Largest answer body read; a larger one fails the request. @default 16 MiB */
  maxResponseBytes?: number;
  /** Environment to read the proxy variables from. @default `process.env`, read at call time */
  env?: Record<string, string | undefined>;
  /**
   * Accept an `http://` URL: the API key pair and the policy travel in clear text, readable and
   * changeable by anyone on the path. For a loopback test server only. @default false
   */
  insecureAllowHttp?: boolean;
}

/** The two network fields this project manages, in the seed's shape. */
export interface RancherNetworkPolicy {
  /** Verdict when no rule matches. */
  defaultPolicyAction: 'allow' | 'deny';
  /** Ordered rules (`within`, `between`, `from`/`to`, `action`), as the seed writes them. */
  policy: unknown[];
}

/** A Rancher network resource as the API returns it. */
export interface RancherNetworkResource {
  id: string;
  type: string;
  defaultPolicyAction?: string;
  policy?: unknown[];
  [key: string]: unknown;
}

/** Rancher ids are short alphanumeric strings (`1a5`, `1n12`). */
const RANCHER_ID = /^[0-9a-z]+$/i;

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Reads the network; `undefined` when Rancher answers 404 (no such project or network). */
export async function getNetwork(target: RancherNetworkTarget): Promise<RancherNetworkResource | undefined> {
  const { http, path, what } = prepare(target);
  const answer = await send(http, what, target, { method: 'GET', url: path });
  if (answer.status === 404) return undefined;
  if (answer.status >= 300) throw rancherError(what, answer);
  return asNetwork(answer.data, what);
}

/**
 * Sets `defaultPolicyAction` and `policy` of the network: GET, replace those two fields, PUT the
 * object back. @returns the network as Rancher stored it.
 */
export async function putNetwork(target: RancherNetworkTarget, desired: RancherNetworkPolicy): Promise<RancherNetworkResource> {
  const { http, path, what } = prepare(target);
  if (desired.defaultPolicyAction !== 'allow' && desired.defaultPolicyAction !== 'deny') {
    throw new ClientInputError(`defaultPolicyAction must be "allow" or "deny", not ${JSON.stringify(desired.defaultPolicyAction)}`, what);
  }
  if (!Array.isArray(desired.policy)) throw new ClientInputError('policy must be a list of rules', what);
  const read = await send(http, what, target, { method: 'GET', url: path });
  if (read.status === 404) {
    throw new ApiError(`${what}: 404 NotFound: no such network in this environment; check the project and network ids`, { status: 404, reason: 'NotFound' });
  }
  if (read.status >= 300) throw rancherError(what, read);
  const current = asNetwork(read.data, what);
  const body = { ...current, defaultPolicyAction: desired.defaultPolicyAction, policy: desired.policy };
  const written = await send(http, what, target, { method: 'PUT', url: path, data: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  if (written.status >= 300) throw rancherError(what, written);
  return asNetwork(written.data, what);
}

interface Prepared {
  http: AxiosInstance;
  path: string;
  what: string;
}

function prepare(target: RancherNetworkTarget): Prepared {
  const where = 'rancher network';
  for (const [field, value] of [['project', target.project], ['network', target.network]] as const) {
    if (typeof value !== 'string' || !RANCHER_ID.test(value)) {
      throw new ClientInputError(`${field} id ${JSON.stringify(value)} is not a Rancher id (letters and digits only, e.g. 1a5)`, where);
    }
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new ClientInputError(`url "${shown(target.url)}" is not a URL; expected e.g. https://rancher.example:8443`, where);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientInputError(`url "${shown(target.url)}" must use https://`, where);
  if (url.protocol === 'http:' && target.insecureAllowHttp !== true) {
    throw new ClientInputError(
      `url "${shown(url.origin)}" uses http://: the API key pair and the policy would travel in clear text; use the server's https:// URL (insecureAllowHttp: true accepts it, for a loopback test server only)`,
      where,
    );
  }
  if (url.username !== '' || url.password !== '') throw new ClientInputError('url must not carry credentials; use accessKey and secretKey', where);
  const proxy = proxyFor(url, target.env ?? process.env);
  if (proxy !== undefined) {
    throw new ClientInputError(`${proxy} is set, and this client does not go through a proxy: add ${url.hostname} to NO_PROXY to reach Rancher directly, or unset ${proxy}`, where);
  }
  if (url.search !== '' || url.hash !== '') throw new ClientInputError(`url "${shown(target.url)}" must not have a query or fragment`, where);
  if (typeof target.accessKey !== 'string' || target.accessKey === '' || typeof target.secretKey !== 'string' || target.secretKey === '') {
    throw new ClientInputError('accessKey and secretKey are required (a Rancher API key pair)', where);
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const path = `/v2-beta/projects/${target.project}/networks/${target.network}`;
  const http = axios.create({
    baseURL: base,
    timeout: target.timeoutMs ?? 30_000,
    maxContentLength: target.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    auth: { username: target.accessKey, password: target.secretKey },
    headers: { Accept: 'application/json', 'User-Agent': 'pulumi-netpolicy' },
    proxy: false,
    maxRedirects: 0,
    validateStatus: () => true,
    transformResponse: [(data: unknown) => data],
    transitional: { clarifyTimeoutError: true },
    httpsAgent: new https.Agent({ ca: target.caPem, keepAlive: false }),
  });
  return { http, path, what: `Rancher network ${target.project}/${target.network} at ${base}` };
}

interface Answer {
  status: number;
  data: unknown;
}

async function send(http: AxiosInstance, what: string, target: RancherNetworkTarget, request: { method: 'GET' | 'PUT'; url: string; data?: string; headers?: Record<string, string> }): Promise<Answer> {
  // axios' own timeout restarts with every byte that arrives; this deadline does not.
  const deadline = AbortSignal.timeout(target.timeoutMs ?? 30_000);
  try {
    const response = await http.request({ ...request, signal: deadline });
    let data: unknown = response.data;
    if (typeof data === 'string' && data !== '') {
      try {
        data = JSON.parse(data) as unknown;
      } catch {
        // not JSON: keep the text for the error message
      }
    }
    return { status: response.status, data };
  } catch (error) {
    const code = deadline.aborted ? 'ETIMEDOUT' : failureCode(error);
    const tooLarge = code === 'ERR_BAD_RESPONSE' && error instanceof Error && error.message.includes('maxContentLength');
    const message = code === 'ETIMEDOUT'
      ? `no answer within ${target.timeoutMs ?? 30_000} ms`
      : tooLarge
        ? `the answer is larger than ${mebibytes(target.maxResponseBytes ?? MAX_RESPONSE_BYTES)}; is this a Rancher server?`
        : `cannot reach the Rancher server (${code})`;
    throw new ApiError(`${what}: ${message}`, { code });
  }
}

/** An `ApiError` from Rancher's error body: `{type: "error", status, code, message, fieldName}`. */
function rancherError(what: string, answer: Answer): ApiError {
  const body = answer.data;
  if (!isRecord(body) || body.type !== 'error') {
    const text = shown(typeof body === 'string' ? body : JSON.stringify(body ?? ''), 200);
    return new ApiError(`${what}: ${answer.status} (not a Rancher error body): ${text}`, { status: answer.status });
  }
  const code = stringField(body, 'code') ?? 'Error';
  const fieldName = stringField(body, 'fieldName');
  const parts = [stringField(body, 'message'), stringField(body, 'detail'), fieldName === undefined ? undefined : `field ${fieldName}`];
  const detail = parts.filter((part): part is string => part !== undefined && part !== '').join('; ');
  const hint = answer.status === 401 ? ' — Rancher did not accept the API key pair (accessKey/secretKey)' : answer.status === 403 ? ' — the API key may not change this environment' : '';
  return new ApiError(`${what}: ${answer.status} ${code}${detail === '' ? '' : `: ${detail}`}${hint}`, {
    status: answer.status,
    reason: code,
    causes: fieldName === undefined ? [] : [{ field: fieldName, message: stringField(body, 'message'), reason: code }],
  });
}

function asNetwork(data: unknown, what: string): RancherNetworkResource {
  if (isRecord(data) && typeof data.id === 'string' && typeof data.type === 'string') {
    return { ...data, id: data.id, type: data.type };
  }
  throw new ApiError(`${what}: Rancher returned something that is not a network resource`);
}
