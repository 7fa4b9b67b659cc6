/**
 * The endpoints' fast path: a model of 100,000 endpoints spent ~2 s of CPU in zod (one object
 * parse per endpoint, its labels record and refinements, and the garbage they leave). Most
 * endpoints have the same plain shape, so this checks that shape directly, with the schema's own
 * patterns (inventory.ts, common.ts), and builds what zod would return: the same keys in the
 * schema's order, the protocol upper-cased. Anything it is not sure of (a missing or unknown key,
 * an `undefined` value, a wrong type, a bad value) makes it answer `undefined`, and the caller
 * parses the document with zod, which stays the single source of truth and writes every error
 * message. So the fast path may only accept what zod accepts, and return what zod returns; the
 * test (endpoint-fast-path.test.ts) holds it to both on valid, hostile and mistaken inputs.
 */
import { IDENTIFIER, PORT_NAME } from "./common";
import { Endpoint, HOST_NAME, NAMESPACE_NAME, PROFILE_ID } from "./inventory";
import { parseAddress } from "./net";
import { isLabelKey, isLabelValue } from "./selectors";

/** The Endpoint schema's keys, in its order (zod's output order). */
const ENDPOINT_KEYS = ["name", "ips", "host", "namespace", "labels", "ports", "stack", "service", "links", "profiles"] as const;
const KNOWN = new Set<string>(ENDPOINT_KEYS);

type Checked<T> = T | undefined;

/** A plain object as JSON and YAML parse it (no class, no inherited or symbol keys to wonder about). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Label keys and values, host, namespace, stack and service names repeat across endpoints: each distinct text is checked once per model. */
class TextChecks {
  private readonly keys = new Map<string, boolean>();
  private readonly values = new Map<string, boolean>();
  private readonly named = new Map<RegExp, Map<string, boolean>>();

  key(k: string): boolean {
    let ok = this.keys.get(k);
    if (ok === undefined) this.keys.set(k, (ok = isLabelKey(k)));
    return ok;
  }

  value(v: string): boolean {
    let ok = this.values.get(v);
    if (ok === undefined) this.values.set(v, (ok = isLabelValue(v)));
    return ok;
  }

  /** Whether `text` matches `pattern`, tested once per pattern and text. */
  name(pattern: RegExp, text: string): boolean {
    let seen = this.named.get(pattern);
    if (seen === undefined) this.named.set(pattern, (seen = new Map()));
    let ok = seen.get(text);
    if (ok === undefined) seen.set(text, (ok = pattern.test(text)));
    return ok;
  }
}

function strings(v: unknown, pattern: RegExp | undefined, check?: (s: string) => boolean): Checked<string[]> {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== "string" || (pattern !== undefined && !pattern.test(s)) || (check !== undefined && !check(s))) return undefined;
    out[i] = s;
  }
  return out;
}

function labelsOf(v: unknown, checks: TextChecks): Checked<Record<string, string>> {
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(v)) {
    const value = v[k];
    if (k === "__proto__" || typeof value !== "string" || !checks.key(k) || !checks.value(value)) return undefined;
    out[k] = value;
  }
  return out;
}

type NamedPort = NonNullable<Endpoint["ports"]>[number];

function portOf(v: unknown): Checked<NamedPort> {
  if (!isPlainObject(v)) return undefined;
  let count = 0;
  for (const k in v) {
    if (k !== "name" && k !== "port" && k !== "protocol") return undefined;
    count++;
  }
  const { name, port, protocol } = v;
  if (typeof name !== "string" || !PORT_NAME.test(name)) return undefined;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (!("protocol" in v)) return count === 2 ? { name, port } : undefined;
  if (typeof protocol !== "string") return undefined;
  const up = protocol.toUpperCase();
  if (up !== "TCP" && up !== "UDP" && up !== "SCTP") return undefined;
  return { name, port, protocol: up };
}

function portsOf(v: unknown): Checked<NamedPort[]> {
  if (!Array.isArray(v)) return undefined;
  const out: NamedPort[] = new Array<NamedPort>(v.length);
  for (let i = 0; i < v.length; i++) {
    const p = portOf(v[i]);
    if (p === undefined) return undefined;
    out[i] = p;
  }
  return out;
}

const isAddress = (s: string) => parseAddress(s) !== undefined;

/** One endpoint as zod would return it, or undefined when zod must decide. */
function endpointOf(v: unknown, checks: TextChecks): Checked<Endpoint> {
  if (!isPlainObject(v)) return undefined;
  for (const k of Object.keys(v)) {
    if (!KNOWN.has(k) || v[k] === undefined) return undefined;
  }
  const { name } = v;
  if (typeof name !== "string" || !IDENTIFIER.test(name)) return undefined;
  const ips = strings(v.ips, undefined, isAddress);
  if (ips === undefined || ips.length === 0) return undefined;
  const out: Endpoint = { name, ips };
  // Keys are set in the schema's order, as zod returns them (the model's digest depends on it).
  if (!copyName(v, out, "host", HOST_NAME, checks) || !copyName(v, out, "namespace", NAMESPACE_NAME, checks)) return undefined;
  if ("labels" in v) {
    const labels = labelsOf(v.labels, checks);
    if (labels === undefined) return undefined;
    out.labels = labels;
  }
  if ("ports" in v) {
    const ports = portsOf(v.ports);
    if (ports === undefined) return undefined;
    out.ports = ports;
  }
  if (!copyName(v, out, "stack", IDENTIFIER, checks) || !copyName(v, out, "service", IDENTIFIER, checks)) return undefined;
  if (!copyNames(v, out, "links", IDENTIFIER) || !copyNames(v, out, "profiles", PROFILE_ID)) return undefined;
  return out;
}

/** Copies `v[key]` when present and a string matching `pattern`; false when present and not. */
function copyName(v: Record<string, unknown>, out: Endpoint, key: "host" | "namespace" | "stack" | "service", pattern: RegExp, checks: TextChecks): boolean {
  if (!(key in v)) return true;
  const text = v[key];
  if (typeof text !== "string" || !checks.name(pattern, text)) return false;
  out[key] = text;
  return true;
}

/** The same for a list of such strings. */
function copyNames(v: Record<string, unknown>, out: Endpoint, key: "links" | "profiles", pattern: RegExp): boolean {
  if (!(key in v)) return true;
  const list = strings(v[key], pattern);
  if (list === undefined) return false;
  out[key] = list;
  return true;
}

/**
 * The model's `endpoints` list as `ModelSchema` would return it, when every entry has the plain
 * shape this path checks; undefined (zod decides) otherwise.
 */
export function fastEndpoints(list: unknown): Endpoint[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const checks = new TextChecks();
  const out: Endpoint[] = new Array<Endpoint>(list.length);
  for (let i = 0; i < list.length; i++) {
    const e = endpointOf(list[i], checks);
    if (e === undefined) return undefined;
    out[i] = e;
  }
  return out;
}
