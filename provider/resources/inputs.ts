/**
 * Shared by the resource implementations: unknown values during preview, check failures from zod
 * with property paths, credentials merged back into hosts, and the SSH target of a host.
 */
import { isRecord } from "../model/common";
import { z, ZodError, ZodIssue } from "zod";
import { InputError, issuesFromZod } from "../model/errors";
import type { ModelInput } from "../model/model";
import type { SshTarget } from "../targets/ssh";
import { hostKeyPolicy } from "../targets/ssh/host-keys";
import { CREDENTIAL_FIELDS, NetworkInputs, SshSettingsInput } from "./schema";

/** What the engine sends for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** How the rendered rules read when they depend on unknown values. */
export const COMPUTED = "(computed)";

export interface CheckFailure {
  property: string;
  reason: string;
}

export type Props = Record<string, unknown>;


export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isRecord(v)) return Object.values(v).some(containsUnknown);
  return false;
}

/** The property paths of the values not known yet (`endpoints[1].ips`, `profiles[0]`), at most `limit` and a count of the rest. */
export function unknownPaths(v: unknown, limit = 10): string[] {
  const found: string[] = [];
  const walk = (x: unknown, path: string) => {
    if (x === UNKNOWN) found.push(path === "" ? "(all)" : path);
    else if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${path}[${i}]`));
    else if (isRecord(x)) for (const [k, y] of Object.entries(x)) walk(y, path === "" ? k : `${path}.${k}`);
  };
  walk(v, "");
  return found.length > limit ? [...found.slice(0, limit), `and ${found.length - limit} more`] : found;
}

/** True when the value at `path`, or one of its parents, is unknown. */
function underUnknown(root: unknown, path: readonly (string | number)[]): boolean {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === UNKNOWN) return true;
    if (Array.isArray(cur) && typeof seg === "number") cur = cur[seg];
    else if (isRecord(cur)) cur = cur[String(seg)];
    else return false;
  }
  return cur === UNKNOWN;
}

/** zod issues as check failures, leaving out issues about values not known yet. */
export function schemaFailures(schema: z.ZodTypeAny, value: unknown): CheckFailure[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  const known = result.error.issues.filter((i: ZodIssue) => !underUnknown(value, i.path) && !(i.code === "invalid_union" && containsUnknown(value)));
  return issuesFromZod(new ZodError(known), schema, value).map((i) => ({ property: i.path, reason: i.message }));
}

/** Failures from an InputError of the model; model paths (`network.policy[0]`) become input paths (`policy[0]`). */
export function modelFailures(err: InputError): CheckFailure[] {
  return err.issues.map((i) => ({ property: i.path.replace(/^network\./, ""), reason: i.message }));
}

type Credentials = Record<string, Partial<Record<(typeof CREDENTIAL_FIELDS)[number], string>> & { bastion?: Credentials[string] }>;

function mergeSsh(ssh: unknown, cred: Credentials[string] | undefined): unknown {
  if (!isRecord(ssh) || !isRecord(cred)) return ssh;
  const { bastion, ...own } = cred;
  const merged: Record<string, unknown> = { ...ssh, ...own };
  if (bastion !== undefined && isRecord(ssh.bastion)) merged.bastion = mergeSsh(ssh.bastion, bastion);
  return merged;
}

/** The SDK keeps the Rancher API key pair in the secret `rancherCredentials` input; put it back. */
function withRancherCredentials(props: Props): Props {
  const { rancherCredentials, ...rest } = props;
  if (!isRecord(rest.rancher)) return rest;
  const keys = rancherCredentials === UNKNOWN ? { accessKey: UNKNOWN, secretKey: UNKNOWN } : isRecord(rancherCredentials) ? rancherCredentials : {};
  return { ...rest, rancher: { ...rest.rancher, ...keys } };
}

/** The SDK keeps SSH secrets in the secret `credentials` input (by host name); put them back. */
export function withCredentials(props: Props): Props {
  const { credentials, ...rest } = withRancherCredentials(props);
  if (!Array.isArray(rest.hosts)) return rest;
  // Credentials not known yet (preview): assume a key will come, rather than report none.
  const creds = credentials === UNKNOWN
    ? Object.fromEntries(rest.hosts.map((h: unknown) => [isRecord(h) ? String(h.name) : "", { privateKey: UNKNOWN }])) as Credentials
    : isRecord(credentials) ? credentials as Credentials : undefined;
  if (!creds) return rest;
  return {
    ...rest,
    hosts: rest.hosts.map((h: unknown) => (isRecord(h) && typeof h.name === "string" && isRecord(h.ssh) ? { ...h, ssh: mergeSsh(h.ssh, creds[h.name]) } : h)),
  };
}

/** The model document of a network (SSH settings play no part in the rules). */
export function modelDocument(n: Props): ModelInput {
  const hosts = Array.isArray(n.hosts)
    ? n.hosts.map((h: unknown) => (isRecord(h) ? { name: h.name, ...(h.backend !== undefined ? { backend: h.backend } : {}), ...(h.discover !== undefined ? { discover: h.discover } : {}) } : h))
    : n.hosts;
  const network = n.defaultPolicyAction !== undefined || n.policy !== undefined
    ? { ...(n.defaultPolicyAction !== undefined ? { defaultPolicyAction: n.defaultPolicyAction } : {}), ...(n.policy !== undefined ? { policy: n.policy } : {}) }
    : undefined;
  const doc: Props = { name: n.name, hosts, endpoints: n.endpoints, namespaces: n.namespaces, network, profiles: n.profiles, policies: n.policies, networkPolicies: n.networkPolicies };
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)) as ModelInput;
}

/**
 * The SSH target of a host's settings. known_hosts text goes to the connection whole, so that
 * every key it lists for the host is accepted and a `@revoked` one never is; a text that lists
 * no usable key for the host fails here, before anything connects.
 */
export function sshTarget(s: SshSettingsInput): SshTarget {
  const { bastion, ...rest } = s;
  if (s.knownHosts !== undefined) hostKeyPolicy({ knownHosts: s.knownHosts }, s.host, s.port ?? 22);
  return { ...rest, ...(bastion ? { bastion: sshTarget(bastion) } : {}) };
}

/** A Network's keys the provider itself computes (checked inputs and outputs); they never come from the user. */
const NETWORK_COMPUTED_KEYS: ReadonlySet<string> = new Set(["__provider", "table", "access", "rules", "warnings", "discovered", "applied", "rancherApplied"]);

/** A Network's props without what the provider computed. */
export function networkUserInputs(props: Props): Props {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !NETWORK_COMPUTED_KEYS.has(k)));
}

export function parseNetwork(props: Props): NetworkInputs {
  return NetworkInputs.parse(withCredentials(networkUserInputs(props)));
}
