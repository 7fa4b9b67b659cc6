/**
 * The model file: inventory (hosts, endpoints, namespaces) plus the documents of the three
 * dialects. Parsed once, here, at the edge; everything downstream trusts the `Model` type.
 */
import { z } from "zod";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { CalicoPolicy, CalicoProfile } from "./calico";
import { shown } from "./echo";
import { InputError, InputIssue, issuesFromZod } from "./errors";
import { isRecord } from "./common";
import { fastEndpoints } from "./endpoint-fast-path";
import { Endpoint, Host, Namespace } from "./inventory";
import { NetworkPolicy } from "./kubernetes";
import { RancherNetwork } from "./rancher";
import { nestingProblem, sizeProblem } from "./text-limits";

export const ClusterSettings = z.object({
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  /** Write the legacy namespace annotation instead of a default-deny NetworkPolicy. */
  legacyIsolationAnnotation: z.boolean().optional(),
  /**
   * Accept an `http://` API server: the token and every object travel in clear text. For a
   * loopback test server only. @default false
   */
  insecureAllowHttp: z.boolean().optional(),
}).strict();

/** An environment variable's name: where the CLI reads a secret from (a secret never sits in the file). */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an environment variable name: letters, digits and '_', not starting with a digit");

/**
 * A Rancher 1.x network to write the model's `network` (defaultPolicyAction and policy) to
 * (`PUT {url}/v2-beta/projects/{project}/networks/{network}`, API key pair from the environment).
 */
export const RancherSettings = z.object({
  /** Rancher server URL, e.g. `https://rancher.example:8443` (no credentials in it). */
  url: z.string().url("url must be a URL such as https://rancher.example:8443"),
  /** Environment (project) id, e.g. `1a5`. */
  project: z.string().regex(/^[0-9a-z]+$/i, "a Rancher project id is letters and digits, e.g. 1a5"),
  /** Network id, e.g. `1n5`. */
  network: z.string().regex(/^[0-9a-z]+$/i, "a Rancher network id is letters and digits, e.g. 1n5"),
  /** The environment variable holding the API access key. */
  accessKeyEnv: envName,
  /** The environment variable holding the API secret key. */
  secretKeyEnv: envName,
  /** A PEM CA bundle file for an https URL (relative to the model file). @default the system's roots */
  caPath: z.string().min(1).max(4096).optional(),
  /** Time allowed for one request. @default 30000 */
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  /**
   * Accept an `http://` url: the API key pair and the policy travel in clear text. For a loopback
   * test server only. @default false
   */
  insecureAllowHttp: z.boolean().optional(),
}).strict();

export const ModelSchema = z.object({
  /** Names the network; the hosts' table name is derived from it. @default "default" */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "a network name is 1-63 letters, digits, '_', '.', '-'").optional(),
  hosts: z.array(Host).optional(),
  endpoints: z.array(Endpoint).optional(),
  namespaces: z.array(Namespace).optional(),
  network: RancherNetwork.optional(),
  profiles: z.array(CalicoProfile).optional(),
  policies: z.array(CalicoPolicy).optional(),
  networkPolicies: z.array(NetworkPolicy).optional(),
  cluster: ClusterSettings.optional(),
  rancher: RancherSettings.optional(),
}).strict();

export type ModelInput = z.input<typeof ModelSchema>;
export type Model = z.infer<typeof ModelSchema>;

/** Largest model document read; larger ones are refused before parsing. */
export const MAX_MODEL_BYTES = 8 * 1024 * 1024;

/** The names used more than once, each with every index it is used at, in order of first use. */
function duplicates(names: readonly string[]): Map<string, number[]> {
  // One number per name, an array only for a name seen twice: 100,000 endpoints allocate nothing else.
  const first = new Map<string, number>();
  const repeated = new Map<string, number[]>();
  names.forEach((n, i) => {
    const at = first.get(n);
    if (at === undefined) first.set(n, i);
    else {
      const idx = repeated.get(n);
      if (idx) idx.push(i);
      else repeated.set(n, [at, i]);
    }
  });
  return repeated.size > 1 ? new Map([...repeated].sort(([, a], [, b]) => a[0] - b[0])) : repeated;
}

/** Cross references the schema cannot see: unique names, endpoint → host / profile. */
function crossReferences(m: Model): InputIssue[] {
  const issues: InputIssue[] = [];
  const dup = (list: string, names: string[], field = "name") => {
    for (const [name, idx] of duplicates(names)) {
      for (const i of idx.slice(1)) {
        issues.push({ path: `${list}[${i}].${field}`, message: `duplicate ${field} "${name}" (first used at ${list}[${idx[0]}]); names must be unique` });
      }
    }
  };
  dup("hosts", (m.hosts ?? []).map((h) => h.name));
  dup("endpoints", (m.endpoints ?? []).map((e) => e.name));
  dup("namespaces", (m.namespaces ?? []).map((n) => n.name));
  dup("profiles", (m.profiles ?? []).map((p) => p.id), "id");
  dup("policies", (m.policies ?? []).map((p) => p.name));
  dup("networkPolicies", (m.networkPolicies ?? []).map((p) => `${p.metadata.namespace ?? "default"}/${p.metadata.name}`), "metadata.name");

  const hosts = new Set((m.hosts ?? []).map((h) => h.name));
  const profiles = new Set((m.profiles ?? []).map((p) => p.id));
  const ipOwner = new Map<string, string>();
  (m.endpoints ?? []).forEach((e, i) => {
    if (e.host !== undefined && !hosts.has(e.host)) {
      issues.push({ path: `endpoints[${i}].host`, message: `host "${e.host}" is not defined under hosts; add it or fix the name` });
    }
    (e.profiles ?? []).forEach((p, j) => {
      if (!profiles.has(p)) issues.push({ path: `endpoints[${i}].profiles[${j}]`, message: `profile "${p}" is not defined under profiles; add it or fix the id` });
    });
    (e.ips ?? []).forEach((ip, j) => {
      const owner = ipOwner.get(ip);
      if (owner !== undefined && owner !== e.name) {
        issues.push({ path: `endpoints[${i}].ips[${j}]`, message: `address ${ip} is already used by endpoint "${owner}"` });
      }
      ipOwner.set(ip, e.name);
    });
    if ((e.ports?.length ?? 0) < 2) return;
    const ports = duplicates((e.ports ?? []).map((p) => p.name));
    for (const [name, idx] of ports) issues.push({ path: `endpoints[${i}].ports[${idx[1]}].name`, message: `duplicate port name "${name}"` });
  });
  return issues;
}

/** Validates a parsed document. Throws InputError naming every problem by its path. */
export function parseModel(doc: unknown, subject = "model"): Model {
  if (doc === null || doc === undefined) throw new InputError(subject, [{ path: "", message: "the document is empty; expected a mapping with endpoints, hosts and policies" }]);
  const model = parsedFast(doc) ?? parsedByZod(doc, subject);
  const issues = crossReferences(model);
  if (issues.length > 0) throw new InputError(subject, issues);
  return model;
}

function parsedByZod(doc: unknown, subject: string): Model {
  const result = ModelSchema.safeParse(doc);
  if (!result.success) throw new InputError(subject, issuesFromZod(result.error, ModelSchema, doc));
  return result.data;
}

/**
 * The model through the endpoints' fast path (endpoint-fast-path.ts) and zod for the rest, when
 * every endpoint has the plain shape and the rest parses; undefined otherwise, and zod parses the
 * whole document again, so every error is zod's, found in its order.
 */
function parsedFast(doc: unknown): Model | undefined {
  if (!isRecord(doc) || !Array.isArray(doc.endpoints)) return undefined;
  const endpoints = fastEndpoints(doc.endpoints);
  if (endpoints === undefined) return undefined;
  const rest = ModelSchema.safeParse({ ...doc, endpoints: [] });
  if (!rest.success) return undefined;
  return { ...rest.data, endpoints };
}

/**
 * A YAML syntax error, once: where (line, column), what, and the line itself with a caret under
 * the column.
 */
function yamlIssue(e: unknown, text: string): InputIssue {
  const first = (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  if (!(e instanceof YAMLParseError) || !e.linePos) return { path: "", message: `not valid YAML or JSON: ${first}` };
  const { line, col } = e.linePos[0];
  return { path: `line ${line}, column ${col}`, message: `not valid YAML or JSON: ${shown(first)}${sourceExcerpt(text, line, col)}` };
}

/**
 * The line at `line` with a caret under `column`, indented under the message. A long line is cut
 * to a window around the column so the caret stays visible; control characters are escaped.
 */
function sourceExcerpt(text: string, line: number, column: number): string {
  const whole = (text.split(/\r?\n/, line)[line - 1] ?? "").replace(/\t/g, " ");
  const start = Math.max(0, column - 1 - 60);
  const window = whole.slice(start, start + 120);
  const source = `${start > 0 ? "…" : ""}${shown(window, window.length)}${start + 120 < whole.length ? "…" : ""}`;
  const caret = (start > 0 ? 1 : 0) + column - 1 - start;
  const gutter = String(line);
  return `\n    ${gutter} | ${source}\n    ${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, caret))}^`;
}

/**
 * YAML or JSON text (JSON is YAML) as a document, for every file a user writes: refused when it
 * is larger than `limit` or nests deeper than MAX_NESTING (checked before parsing, see
 * text-limits.ts), and a syntax error names its line.
 */
export function parseUserYaml(text: string, subject: string, limit = MAX_MODEL_BYTES): unknown {
  const tooLarge = sizeProblem(text, limit);
  if (tooLarge !== undefined) throw new InputError(subject, [{ path: "", message: `the document ${tooLarge}; split it or generate it from a program` }]);
  const tooDeep = nestingProblem(text);
  if (tooDeep !== undefined) {
    const { line, column } = tooDeep.position;
    throw new InputError(subject, [{ path: `line ${line}, column ${column}`, message: `${tooDeep.message}${sourceExcerpt(text, line, column)}` }]);
  }
  try {
    return parseYaml(text, { maxAliasCount: 100, prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new InputError(subject, [yamlIssue(e, text)]);
  }
}

/** Parses YAML or JSON text and validates it as a model. */
export function parseModelText(text: string, subject = "model"): Model {
  return parseModel(parseUserYaml(text, subject), subject);
}
