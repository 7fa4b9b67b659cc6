/**
 * The kubeconfig format, and how kubectl (client-go `clientcmd`) merges several kubeconfig
 * documents into one: the first document that defines a cluster, user or context name wins, and so
 * does the first `current-context`. Parsing only: which files to read and what an entry's paths and
 * credentials resolve to is kubeconfig.ts's business.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ClientInputError } from '../api-errors';
import { shown } from '../../model/echo';
import { nestingProblem, sizeProblem } from '../../model/text-limits';

/** Largest kubeconfig document read (file or inline text). */
export const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

const optionalString = z.string().optional();
const ClusterSchema = z
  .object({
    server: optionalString,
    'certificate-authority': optionalString,
    'certificate-authority-data': optionalString,
    'insecure-skip-tls-verify': z.unknown().optional(),
    'tls-server-name': optionalString,
    'proxy-url': optionalString,
  })
  .passthrough();
const UserSchema = z
  .object({
    token: optionalString,
    tokenFile: optionalString,
    'client-certificate': optionalString,
    'client-certificate-data': optionalString,
    'client-key': optionalString,
    'client-key-data': optionalString,
  })
  .passthrough();
const ContextSchema = z
  .object({ cluster: optionalString, user: optionalString, namespace: optionalString })
  .passthrough();
const KubeconfigSchema = z
  .object({
    'current-context': z.string().nullish(),
    clusters: z.array(z.object({ name: z.string().min(1), cluster: ClusterSchema.nullish() }).passthrough()).nullish(),
    users: z.array(z.object({ name: z.string().min(1), user: UserSchema.nullish() }).passthrough()).nullish(),
    contexts: z.array(z.object({ name: z.string().min(1), context: ContextSchema.nullish() }).passthrough()).nullish(),
  })
  .passthrough();

export type Cluster = z.infer<typeof ClusterSchema>;
export type User = z.infer<typeof UserSchema>;
type Context = z.infer<typeof ContextSchema>;

/** One named entry and the directory its relative paths resolve against. */
export interface Entry<T> {
  body: T;
  baseDir: string;
  source: string;
}

/** Several kubeconfig documents merged the way kubectl merges `KUBECONFIG`. */
export interface MergedKubeconfig {
  sources: string[];
  currentContext?: string;
  clusters: Map<string, Entry<Cluster>>;
  users: Map<string, Entry<User>>;
  contexts: Map<string, Entry<Context>>;
}

/** One kubeconfig document to merge: its text and where it came from. */
export interface KubeconfigDocument {
  text: string;
  baseDir: string;
  source: string;
}

/**
 * Parses each document (YAML or JSON) and merges them in order; an empty document adds nothing.
 * Throws `ClientInputError` naming the document and the first field that does not fit.
 */
export function mergeDocuments(documents: KubeconfigDocument[]): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    sources: documents.map((document) => document.source),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const document of documents) {
    const tooLarge = sizeProblem(document.text, MAX_KUBECONFIG_BYTES);
    if (tooLarge !== undefined) throw new ClientInputError(`${tooLarge}; a kubeconfig is a few kilobytes, is this the right file?`, document.source);
    const tooDeep = nestingProblem(document.text);
    if (tooDeep !== undefined) {
      throw new ClientInputError(`line ${tooDeep.position.line}, column ${tooDeep.position.column}: ${tooDeep.message}`, document.source);
    }
    let raw: unknown;
    try {
      raw = parseYaml(document.text, { maxAliasCount: 100 });
    } catch (error) {
      const reason = shown(error instanceof Error ? error.message.split('\n')[0] : 'parse error');
      throw new ClientInputError(`is not valid YAML: ${reason}`, document.source);
    }
    if (raw === null || raw === undefined) continue; // an empty file, as kubectl allows
    const parsed = KubeconfigSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ClientInputError(`${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`, document.source);
    }
    const config = parsed.data;
    if (merged.currentContext === undefined && config['current-context']) {
      merged.currentContext = config['current-context'];
    }
    for (const { name, cluster } of config.clusters ?? []) addFirst(merged.clusters, name, cluster ?? {}, document);
    for (const { name, user } of config.users ?? []) addFirst(merged.users, name, user ?? {}, document);
    for (const { name, context } of config.contexts ?? []) addFirst(merged.contexts, name, context ?? {}, document);
  }
  return merged;
}

/** Adds an entry unless one of that name exists: the first file to define a name wins. */
function addFirst<T>(target: Map<string, Entry<T>>, name: string, body: T, document: KubeconfigDocument): void {
  if (!target.has(name)) target.set(name, { body, baseDir: document.baseDir, source: document.source });
}
