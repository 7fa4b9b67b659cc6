/**
 * Kubeconfig loading: from a file, from inline YAML, or from `KUBECONFIG` / `~/.kube/config`,
 * resolved to one `ClusterConnection` for one context.
 *
 * Semantics follow kubectl (client-go `clientcmd`) where it matters to a user:
 * - `KUBECONFIG` is a list of files (`:`-separated); they are merged (kubeconfig-merge.ts), the
 *   first file that defines a cluster, user or context name wins, and so does the first
 *   `current-context`. Missing files in the list are skipped.
 * - Relative file paths (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`)
 *   resolve against the directory of the kubeconfig file that holds them (the working directory for
 *   inline text).
 * - `*-data` fields override the matching file fields; `token` overrides `tokenFile`.
 * - `insecure-skip-tls-verify` is honoured only when it is the boolean `true`, and it cannot be
 *   combined with a CA (kubectl refuses that too).
 *
 * The environment is read when `loadKubeconfig` is called, never at module load, because dynamic
 * providers are serialized and run elsewhere. Error messages name files, contexts and fields, never
 * the token or key material.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ClientInputError } from '../api-errors';
import { shown } from '../../model/echo';
import { mebibytes } from '../../model/text-limits';
import { proxyFor } from '../proxy-env';
import { Cluster, Entry, KubeconfigDocument, MAX_KUBECONFIG_BYTES, mergeDocuments, MergedKubeconfig, User } from './kubeconfig-merge';

/** Where to load the kubeconfig from and which context to use. */
export interface KubeconfigOptions {
  /**
   * A kubeconfig path or its whole YAML text; text is recognised by a line break or a leading `{`.
   * @default the `KUBECONFIG` files, else `~/.kube/config`
   */
  kubeconfig?: string;
  /** Path of a kubeconfig file (wins over `kubeconfig`). */
  path?: string;
  /** A whole kubeconfig as YAML or JSON text (wins over `path`). */
  inline?: string;
  /** Name of the context to use. @default the kubeconfig's `current-context` */
  context?: string;
  /** Environment to read `KUBECONFIG`, `HOME` and the proxy variables from. @default `process.env`, read at call time */
  env?: Record<string, string | undefined>;
  /**
   * Accept an `http://` server: the bearer token, the objects and the answers then travel in
   * clear text, readable and changeable by anyone on the path. For a loopback test server only.
   * @default false
   */
  insecureAllowHttp?: boolean;
}

/** Everything needed to talk to one cluster as one user. Holds secrets: never log it. */
export interface ClusterConnection {
  /** Where it came from, for messages: `kubeconfig /path` or `inline kubeconfig`. */
  source: string;
  /** Names of the context, cluster and user entries used. */
  context: string;
  cluster: string;
  user: string;
  /** The context's namespace. @default `default` */
  namespace: string;
  /** API server URL without a trailing slash, e.g. `https://10.0.0.1:6443`. */
  server: string;
  /** PEM CA bundle to verify the server with. @default undefined (the system's roots) */
  caPem?: string;
  /** The name to send (SNI) and to verify the server certificate against, from `tls-server-name`. @default the server URL's host */
  tlsServerName?: string;
  /** Skip server certificate verification; true only if the kubeconfig says exactly `true`. */
  insecureSkipTlsVerify: boolean;
  /** PEM client certificate and key for TLS client authentication. */
  clientCertificatePem?: string;
  clientKeyPem?: string;
  /** Bearer token. */
  token?: string;
}

/**
 * Loads the kubeconfig described by `options` and resolves the selected context to a connection.
 * Throws `ClientInputError` naming the file, context and field when something is missing or unusable.
 */
export async function loadKubeconfig(options: KubeconfigOptions = {}): Promise<ClusterConnection> {
  const documents = await readDocuments(options);
  const merged = mergeDocuments(documents);
  const connection = await resolveContext(merged, options.context, options.insecureAllowHttp === true);
  const proxy = proxyFor(new URL(connection.server), options.env ?? process.env);
  if (proxy !== undefined) {
    throw new ClientInputError(
      `${proxy} is set, and this client does not go through a proxy: add ${new URL(connection.server).hostname} to NO_PROXY to reach the server directly, or unset ${proxy}`,
      `${connection.source}, cluster "${connection.cluster}"`,
    );
  }
  return connection;
}

async function readDocuments(options: KubeconfigOptions): Promise<KubeconfigDocument[]> {
  const inline = options.inline ?? (options.path === undefined && isInlineText(options.kubeconfig) ? options.kubeconfig : undefined);
  if (inline !== undefined) return [{ text: inline, baseDir: process.cwd(), source: 'inline kubeconfig' }];
  const explicitPath = options.path ?? options.kubeconfig;
  if (explicitPath !== undefined) return [await readKubeconfigFile(explicitPath)];

  const env = options.env ?? process.env;
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((entry) => entry !== '');
  if (listed.length > 0) {
    const documents: KubeconfigDocument[] = [];
    for (const file of listed) {
      try {
        documents.push(await readKubeconfigFile(file));
      } catch (error) {
        if (!(error instanceof ClientInputError && error.message.includes('ENOENT'))) throw error;
      }
    }
    if (documents.length === 0) {
      throw new ClientInputError(`none of the files in KUBECONFIG exists (${listed.join(', ')})`, 'kubeconfig');
    }
    return documents;
  }
  const home = env.HOME ?? os.homedir();
  const defaultPath = path.join(home, '.kube', 'config');
  try {
    return [await readKubeconfigFile(defaultPath)];
  } catch (error) {
    if (error instanceof ClientInputError && error.message.includes('ENOENT')) {
      throw new ClientInputError(
        `no kubeconfig given, KUBECONFIG is not set and ${defaultPath} does not exist; pass a kubeconfig path or its text`,
        'kubeconfig',
      );
    }
    throw error;
  }
}

function isInlineText(value: string | undefined): value is string {
  return value !== undefined && (value.includes('\n') || value.trimStart().startsWith('{'));
}

async function readKubeconfigFile(file: string): Promise<KubeconfigDocument> {
  const absolute = path.resolve(file);
  const text = await readText(absolute, `kubeconfig ${absolute}`, MAX_KUBECONFIG_BYTES, 'cannot read the file');
  return { text, baseDir: path.dirname(absolute), source: `kubeconfig ${absolute}` };
}

async function resolveContext(merged: MergedKubeconfig, requested: string | undefined, allowHttp: boolean): Promise<ClusterConnection> {
  const where = merged.sources.join(', ');
  const available = `available contexts: ${listNames(merged.contexts)}`;
  const contextName = requested ?? merged.currentContext;
  if (contextName === undefined || contextName === '') {
    throw new ClientInputError(`no context given and current-context is not set; ${available}`, where);
  }
  const context = merged.contexts.get(contextName);
  if (context === undefined) throw new ClientInputError(`context "${contextName}" not found; ${available}`, where);

  const clusterName = context.body.cluster;
  if (clusterName === undefined || clusterName === '') {
    throw new ClientInputError(`context "${contextName}" names no cluster`, context.source);
  }
  const cluster = merged.clusters.get(clusterName);
  if (cluster === undefined) {
    throw new ClientInputError(
      `context "${contextName}" uses cluster "${clusterName}", which is not defined; clusters: ${listNames(merged.clusters)}`,
      where,
    );
  }
  const userName = context.body.user ?? '';
  const user = userName === '' ? undefined : merged.users.get(userName);
  if (userName !== '' && user === undefined) {
    throw new ClientInputError(
      `context "${contextName}" uses user "${userName}", which is not defined; users: ${listNames(merged.users)}`,
      where,
    );
  }
  const connection: ClusterConnection = {
    source: where,
    context: contextName,
    cluster: clusterName,
    user: userName,
    namespace: context.body.namespace || 'default',
    ...(await resolveCluster(clusterName, cluster, allowHttp)),
  };
  if (user !== undefined) Object.assign(connection, await resolveUser(userName, user));
  return connection;
}

async function resolveCluster(name: string, entry: Entry<Cluster>, allowHttp: boolean) {
  const where = `${entry.source}, cluster "${name}"`;
  const cluster = entry.body;
  const server = (cluster.server ?? '').trim();
  if (server === '') throw new ClientInputError('has no server URL; set clusters[].cluster.server', where);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ClientInputError(`server "${shown(server)}" is not a URL; expected e.g. https://10.0.0.1:6443`, where);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ClientInputError(`server "${shown(server)}" must use https://`, where);
  }
  if (url.protocol === 'http:' && !allowHttp) {
    throw new ClientInputError(
      `server "${shown(server)}" uses http://: the credentials and every object would travel in clear text; use the server's https:// URL (insecureAllowHttp: true accepts it, for a loopback test server only)`,
      where,
    );
  }
  if (cluster['proxy-url'] !== undefined && cluster['proxy-url'] !== '') {
    throw new ClientInputError('proxy-url is set, and this client does not go through a proxy; remove it to reach the server directly', where);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ClientInputError('server URL must not carry credentials; put them in the user entry', where);
  }
  let caPem: string | undefined;
  if (cluster['certificate-authority-data'] !== undefined && cluster['certificate-authority-data'] !== '') {
    caPem = decodePem(cluster['certificate-authority-data'], 'CERTIFICATE', `${where}, certificate-authority-data`);
  } else if (cluster['certificate-authority'] !== undefined && cluster['certificate-authority'] !== '') {
    caPem = await readPemFile(entry.baseDir, cluster['certificate-authority'], 'CERTIFICATE', `${where}, certificate-authority`);
  }
  const insecureSkipTlsVerify = cluster['insecure-skip-tls-verify'] === true;
  if (insecureSkipTlsVerify && caPem !== undefined) {
    throw new ClientInputError(
      'insecure-skip-tls-verify: true cannot be combined with a certificate authority; remove one of them',
      where,
    );
  }
  const tlsServerName = cluster['tls-server-name'] === '' ? undefined : cluster['tls-server-name'];
  return { server: server.replace(/\/+$/, ''), caPem, insecureSkipTlsVerify, ...(tlsServerName !== undefined ? { tlsServerName } : {}) };
}

async function resolveUser(name: string, entry: Entry<User>): Promise<Partial<ClusterConnection>> {
  const where = `${entry.source}, user "${name}"`;
  const user = entry.body;
  const resolved: Partial<ClusterConnection> = {};
  if (user.token !== undefined && user.token !== '') {
    resolved.token = user.token.trim();
  } else if (user.tokenFile !== undefined && user.tokenFile !== '') {
    const file = path.resolve(entry.baseDir, user.tokenFile);
    resolved.token = (await readText(file, `${where}, tokenFile`)).trim();
    if (resolved.token === '') throw new ClientInputError(`token file ${file} is empty`, `${where}, tokenFile`);
  }
  const certData = user['client-certificate-data'];
  const certFile = user['client-certificate'];
  if (certData !== undefined && certData !== '') {
    resolved.clientCertificatePem = decodePem(certData, 'CERTIFICATE', `${where}, client-certificate-data`);
  } else if (certFile !== undefined && certFile !== '') {
    resolved.clientCertificatePem = await readPemFile(entry.baseDir, certFile, 'CERTIFICATE', `${where}, client-certificate`);
  }
  const keyData = user['client-key-data'];
  const keyFile = user['client-key'];
  if (keyData !== undefined && keyData !== '') {
    resolved.clientKeyPem = decodePem(keyData, 'PRIVATE KEY', `${where}, client-key-data`);
  } else if (keyFile !== undefined && keyFile !== '') {
    resolved.clientKeyPem = await readPemFile(entry.baseDir, keyFile, 'PRIVATE KEY', `${where}, client-key`);
  }
  if ((resolved.clientCertificatePem === undefined) !== (resolved.clientKeyPem === undefined)) {
    throw new ClientInputError('a client certificate needs both client-certificate(-data) and client-key(-data)', where);
  }
  if (resolved.token === undefined && resolved.clientCertificatePem === undefined) {
    const unsupported = ['exec', 'auth-provider', 'username', 'password'].filter((key) => user[key] !== undefined);
    if (unsupported.length > 0) {
      throw new ClientInputError(
        `uses ${unsupported.join(', ')} credentials, which this target does not support; use a token, tokenFile or client certificate`,
        where,
      );
    }
  }
  return resolved;
}

/**
 * Decodes a base64 kubeconfig `*-data` field and checks it holds a PEM block of `label`
 * (`CERTIFICATE`, or any `... PRIVATE KEY`). The value itself never appears in the error.
 */
function decodePem(data: string, label: string, where: string): string {
  const compact = data.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new ClientInputError('is not valid base64 (the value is not shown)', where);
  }
  return checkPem(Buffer.from(compact, 'base64').toString('utf8'), label, `${where} (decoded)`);
}

async function readPemFile(baseDir: string, file: string, label: string, where: string): Promise<string> {
  const absolute = path.resolve(baseDir, file);
  return checkPem(await readText(absolute, where), label, `${where} ${absolute}`);
}

function checkPem(text: string, label: string, where: string): string {
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    throw new ClientInputError(`does not contain a PEM "${label}" block`, where);
  }
  return text;
}

/** Largest certificate, key or token file read. */
const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** A file's text; one larger than `limit` is refused before it is read. */
async function readText(file: string, where: string, limit = MAX_CREDENTIAL_FILE_BYTES, failure = `cannot read ${file}`): Promise<string> {
  let text: string;
  try {
    const { size } = await fs.stat(file);
    if (size > limit) throw new ClientInputError(`${file} is ${mebibytes(size)}, over the limit of ${mebibytes(limit)}; is this the right file?`, where);
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ClientInputError) throw error;
    throw new ClientInputError(`${failure} (${errorCode(error)})`, where);
  }
  return text;
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : 'unknown error';
}

function listNames(entries: Map<string, unknown>): string {
  return entries.size === 0 ? '(none)' : [...entries.keys()].sort().join(', ');
}
