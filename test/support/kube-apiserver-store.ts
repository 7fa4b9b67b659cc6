/**
 * TEST SERVER PART — the object store behind `kube-apiserver.ts`, a stand-in for the real
 * Kubernetes API server used only by tests. It keeps objects in memory and imitates, on the kinds
 * this project writes, what the real API server does: resourceVersion, uid, creationTimestamp,
 * generation, managedFields, server-side apply with field-manager conflicts (tracked per manager at
 * the granularity of `spec.<field>`, `metadata.labels.<key>`, `metadata.annotations.<key>`),
 * optimistic concurrency on PUT, and a few real validation rules answered as 422 `Invalid` with
 * `details.causes` (names and labels; NetworkPolicy policyTypes; Calico rule actions and ICMP ranges). Responses are `Status` objects shaped like the real ones.
 */
import { randomUUID } from 'crypto';

export type Json = Record<string, unknown>;

/** A kind the test server serves. */
export interface ServedType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const SERVED_TYPES: ServedType[] = [
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', namespaced: false },
  { group: 'projectcalico.org', version: 'v3', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'projectcalico.org', version: 'v3', kind: 'Profile', plural: 'profiles', namespaced: false },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
];

/** The answer to one request: HTTP status and JSON body. */
export interface StoreAnswer {
  status: number;
  body: Json;
}

interface Ownership {
  operation: 'Apply' | 'Update';
  fields: Map<string, string[]>;
  time: string;
}

interface Stored {
  object: Json;
  owners: Map<string, Ownership>;
}

const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
/** JSON with sorted keys, so that equal objects compare equal whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    isJson(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner) ?? '';
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `networkpolicies.networking.k8s.io`, or `namespaces` for the core group. */
export const qualifiedResource = (type: ServedType): string => (type.group === '' ? type.plural : `${type.plural}.${type.group}`);
const qualifiedKind = (type: ServedType): string => (type.group === '' ? type.kind : `${type.kind}.${type.group}`);
const apiVersionOf = (type: ServedType): string => (type.group === '' ? type.version : `${type.group}/${type.version}`);

/** A `Status` failure body, shaped like the real API server's. */
export function failure(code: number, reason: string, message: string, details?: Json): StoreAnswer {
  const body: Json = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details !== undefined) body.details = details;
  body.code = code;
  return { status: code, body };
}

export function notFound(type: ServedType, name: string): StoreAnswer {
  return failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, { name, group: type.group, kind: type.plural });
}

/** The field paths an object sets, at the granularity the store tracks ownership. */
function fieldPaths(object: Json): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata' && isJson(value)) {
      for (const sub of ['labels', 'annotations']) {
        const map = value[sub];
        if (isJson(map)) for (const entry of Object.keys(map)) paths.push(['metadata', sub, entry]);
      }
    } else if (isJson(value) && Object.keys(value).length > 0) {
      for (const sub of Object.keys(value)) paths.push([key, sub]);
    } else {
      paths.push([key]);
    }
  }
  return paths;
}

function valueAt(object: Json, path: string[]): unknown {
  let current: unknown = object;
  for (const part of path) current = isJson(current) ? current[part] : undefined;
  return current;
}

function setAt(object: Json, path: string[], value: unknown): void {
  let current = object;
  for (const part of path.slice(0, -1)) {
    if (!isJson(current[part])) current[part] = {};
    current = current[part] as Json;
  }
  current[path[path.length - 1]] = value;
}

function deleteAt(object: Json, path: string[]): void {
  const parent = valueAt(object, path.slice(0, -1));
  if (isJson(parent)) delete parent[path[path.length - 1]];
}

const dotted = (path: string[]): string => `.${path.join('.')}`;
const keyOf = (path: string[]): string => JSON.stringify(path);

/** `managedFields` entries in the real `FieldsV1` shape. */
function managedFields(type: ServedType, owners: Map<string, Ownership>): Json[] {
  return [...owners.entries()].map(([manager, ownership]) => {
    const fieldsV1: Json = {};
    for (const path of ownership.fields.values()) {
      let node = fieldsV1;
      for (const part of path) {
        const key = `f:${part}`;
        if (!isJson(node[key])) node[key] = {};
        node = node[key] as Json;
      }
    }
    return { manager, operation: ownership.operation, apiVersion: apiVersionOf(type), time: ownership.time, fieldsType: 'FieldsV1', fieldsV1 };
  });
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A few of the real validation rules, enough to produce realistic 422 answers. */
function validate(type: ServedType, object: Json): Json[] {
  const causes: Json[] = [];
  const invalid = (field: string, value: unknown, why: string) =>
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field });
  const metadata = isJson(object.metadata) ? object.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    invalid('metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
  }
  const checkLabels = (labels: unknown, field: string) => {
    if (!isJson(labels)) return;
    for (const value of Object.values(labels)) {
      if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
        invalid(field, value, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
      }
    }
  };
  checkLabels(metadata.labels, 'metadata.labels');
  if (type.group === 'networking.k8s.io') {
    const spec = isJson(object.spec) ? object.spec : {};
    const podSelector = spec.podSelector;
    if (isJson(podSelector)) checkLabels(podSelector.matchLabels, 'spec.podSelector.matchLabels');
    const policyTypes = spec.policyTypes;
    if (Array.isArray(policyTypes)) {
      policyTypes.forEach((value, index) => {
        if (value !== 'Ingress' && value !== 'Egress') {
          causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Egress", "Ingress"`, field: `spec.policyTypes[${index}]` });
        }
      });
    }
  }
  if (type.group === 'projectcalico.org') validateCalico(object, causes);
  return causes;
}

const CALICO_ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'];

/** Calico's own validation of rules (`libcalico-go` validator): actions, ICMP type 0-254, code 0-255. */
function validateCalico(object: Json, causes: Json[]): void {
  const spec = isJson(object.spec) ? object.spec : {};
  for (const direction of ['ingress', 'egress']) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule: unknown, index) => {
      if (!isJson(rule)) return;
      const at = `spec.${direction}[${index}]`;
      if (!CALICO_ACTIONS.includes(String(rule.action))) {
        causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(rule.action)}: supported values: "Allow", "Deny", "Log", "Pass"`, field: `${at}.action` });
      }
      for (const key of ['icmp', 'notICMP']) {
        const icmp = rule[key];
        if (!isJson(icmp)) continue;
        if (typeof icmp.type === 'number' && (icmp.type < 0 || icmp.type > 254)) {
          causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${icmp.type}: ICMP type must be in the range 0-254`, field: `${at}.${key}.type` });
        }
        if (typeof icmp.code === 'number' && (icmp.code < 0 || icmp.code > 255)) {
          causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${icmp.code}: ICMP code must be in the range 0-255`, field: `${at}.${key}.code` });
        }
      }
    });
  }
}

function invalidAnswer(type: ServedType, name: unknown, causes: Json[]): StoreAnswer {
  const parts = causes.map((cause) => `${String(cause.field)}: ${String(cause.message)}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const shownName = typeof name === 'string' ? name : '';
  return failure(422, 'Invalid', `${qualifiedKind(type)} "${shownName}" is invalid: ${summary}`, {
    name: shownName,
    group: type.group,
    kind: type.kind,
    causes,
  });
}

/** In-memory objects of all served kinds. */
export class ObjectStore {
  private readonly objects = new Map<string, Stored>();
  private revision = 1000;

  constructor(namespaces: string[] = ['default', 'kube-system']) {
    const namespaceType = SERVED_TYPES[SERVED_TYPES.length - 1];
    for (const name of namespaces) this.apply(namespaceType, undefined, name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'kube-apiserver', false);
  }

  private key(type: ServedType, namespace: string | undefined, name: string): string {
    return `${type.group}/${type.plural}/${namespace ?? ''}/${name}`;
  }

  private view(type: ServedType, stored: Stored): Json {
    const metadata = { ...(stored.object.metadata as Json), managedFields: managedFields(type, stored.owners) };
    return { ...stored.object, metadata };
  }

  namespaceExists(name: string): boolean {
    return this.objects.has(this.key(SERVED_TYPES[SERVED_TYPES.length - 1], undefined, name));
  }

  get(type: ServedType, namespace: string | undefined, name: string): StoreAnswer {
    const stored = this.objects.get(this.key(type, namespace, name));
    return stored === undefined ? notFound(type, name) : { status: 200, body: this.view(type, stored) };
  }

  /** Lists a kind; with `limit`, pages with an opaque `continue` token like the real server. */
  list(type: ServedType, namespace: string | undefined, limit?: number, token?: string): StoreAnswer {
    const prefix = `${type.group}/${type.plural}/${namespace === undefined ? '' : `${namespace}/`}`;
    const items = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, stored]) => {
        const { apiVersion: _a, kind: _k, ...item } = this.view(type, stored);
        return item; // like the real server, list items carry no apiVersion/kind
      });
    const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) return failure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
    const end = limit === undefined || limit <= 0 ? items.length : start + limit;
    const metadata: Json = { resourceVersion: String(this.revision) };
    if (end < items.length) metadata.continue = Buffer.from(String(end)).toString('base64');
    return { status: 200, body: { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: items.slice(start, end) } };
  }

  delete(type: ServedType, namespace: string | undefined, name: string): StoreAnswer {
    const key = this.key(type, namespace, name);
    const stored = this.objects.get(key);
    if (stored === undefined) return notFound(type, name);
    this.objects.delete(key);
    if (type.kind === 'Namespace') {
      for (const other of [...this.objects.keys()]) if (other.split('/')[2] === name) this.objects.delete(other);
    }
    const uid = (stored.object.metadata as Json).uid;
    return { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: type.group, kind: type.plural, uid } } };
  }

  /** Server-side apply of `config` by `manager`. */
  apply(type: ServedType, namespace: string | undefined, name: string, config: Json, manager: string, force: boolean): StoreAnswer {
    const key = this.key(type, namespace, name);
    const existing = this.objects.get(key);
    const applied = fieldPaths(config);
    const owners = new Map<string, Ownership>();
    for (const [owner, ownership] of existing?.owners ?? []) owners.set(owner, { ...ownership, fields: new Map(ownership.fields) });
    const object: Json = existing === undefined ? {} : structuredClone(existing.object);

    const conflicts: Array<{ manager: string; path: string[] }> = [];
    for (const path of applied) {
      for (const [owner, ownership] of owners) {
        if (owner === manager || !ownership.fields.has(keyOf(path))) continue;
        if (!same(valueAt(object, path), valueAt(config, path))) conflicts.push({ manager: owner, path });
      }
    }
    if (conflicts.length > 0 && !force) {
      const byManager = new Map<string, string[]>();
      for (const conflict of conflicts) byManager.set(conflict.manager, [...(byManager.get(conflict.manager) ?? []), dotted(conflict.path)]);
      const groups = [...byManager.entries()].map(([owner, fields]) =>
        fields.length === 1 ? `conflict with "${owner}" using ${apiVersionOf(type)}: ${fields[0]}` : `conflicts with "${owner}" using ${apiVersionOf(type)}:\n- ${fields.join('\n- ')}`);
      const count = conflicts.length === 1 ? '1 conflict' : `${conflicts.length} conflicts`;
      return failure(409, 'Conflict', `Apply failed with ${count}: ${groups.join('\n')}`, {
        causes: conflicts.map((conflict) => ({ reason: 'FieldManagerConflict', message: `conflict with "${conflict.manager}" using ${apiVersionOf(type)}`, field: dotted(conflict.path) })),
      });
    }
    for (const path of applied) for (const [owner, ownership] of owners) if (owner !== manager) ownership.fields.delete(keyOf(path));

    const appliedKeys = new Set(applied.map(keyOf));
    for (const [fieldKey, path] of owners.get(manager)?.fields ?? []) {
      const sharedWithOthers = [...owners].some(([owner, ownership]) => owner !== manager && ownership.fields.has(fieldKey));
      if (!appliedKeys.has(fieldKey) && !sharedWithOthers) deleteAt(object, path);
    }
    for (const path of applied) setAt(object, path, structuredClone(valueAt(config, path)));
    owners.set(manager, { operation: 'Apply', fields: new Map(applied.map((path) => [keyOf(path), path])), time: now() });
    for (const [owner, ownership] of owners) if (ownership.fields.size === 0) owners.delete(owner);
    return this.save(type, key, existing, object, owners, config);
  }

  /** `PUT`: replace the object; `metadata.resourceVersion` must match the stored one. */
  update(type: ServedType, namespace: string | undefined, name: string, replacement: Json, manager: string): StoreAnswer {
    const key = this.key(type, namespace, name);
    const existing = this.objects.get(key);
    if (existing === undefined) return notFound(type, name);
    const metadata = isJson(replacement.metadata) ? replacement.metadata : {};
    const version = metadata.resourceVersion;
    if (typeof version !== 'string' || version === '') {
      return invalidAnswer(type, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    }
    if (version !== (existing.object.metadata as Json).resourceVersion) {
      return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: type.group, kind: type.plural });
    }
    const owners = new Map<string, Ownership>();
    for (const [owner, ownership] of existing.owners) owners.set(owner, { ...ownership, fields: new Map(ownership.fields) });
    const changed = fieldPaths(replacement).filter((path) => !same(valueAt(existing.object, path), valueAt(replacement, path)));
    for (const path of changed) for (const ownership of owners.values()) ownership.fields.delete(keyOf(path));
    const mine = owners.get(manager)?.fields ?? new Map<string, string[]>();
    for (const path of changed) mine.set(keyOf(path), path);
    owners.set(manager, { operation: 'Update', fields: mine, time: now() });
    for (const [owner, ownership] of owners) if (ownership.fields.size === 0) owners.delete(owner);
    const object = structuredClone(replacement);
    return this.save(type, key, existing, object, owners, replacement);
  }

  private save(type: ServedType, key: string, existing: Stored | undefined, object: Json, owners: Map<string, Ownership>, config: Json): StoreAnswer {
    const previous = existing?.object.metadata as Json | undefined;
    const configMetadata = isJson(config.metadata) ? config.metadata : {};
    const metadata: Json = { ...(isJson(object.metadata) ? object.metadata : {}) };
    metadata.name = previous?.name ?? configMetadata.name;
    if (type.namespaced) metadata.namespace = previous?.namespace ?? configMetadata.namespace;
    for (const sub of ['labels', 'annotations']) if (isJson(metadata[sub]) && Object.keys(metadata[sub] as Json).length === 0) delete metadata[sub];
    delete metadata.managedFields;
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    if (type.kind === 'Namespace') object.status = { phase: 'Active' };
    object.metadata = metadata;
    const causes = validate(type, object);
    if (causes.length > 0) return invalidAnswer(type, metadata.name, causes);

    if (previous === undefined) {
      Object.assign(metadata, { uid: randomUUID(), resourceVersion: String(++this.revision), generation: 1, creationTimestamp: now() });
    } else {
      for (const field of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) metadata[field] = previous[field];
      const before = { ...existing?.object, metadata: { ...previous, managedFields: undefined } };
      const ownersBefore = managedFields(type, existing?.owners ?? new Map()).map((entry) => ({ ...entry, time: '' }));
      const ownersAfter = managedFields(type, owners).map((entry) => ({ ...entry, time: '' }));
      if (!same(before, object) || !same(ownersBefore, ownersAfter)) metadata.resourceVersion = String(++this.revision);
      if (!same(existing?.object.spec, object.spec)) metadata.generation = Number(previous.generation ?? 1) + 1;
    }
    this.objects.set(key, { object, owners });
    return { status: previous === undefined ? 201 : 200, body: this.view(type, { object, owners }) };
  }
}
