/**
 * TEST SERVER PART — the object store behind `kube-apiserver.ts`, a stand-in for the real
 * Kubernetes API server used only by tests. It keeps objects in memory, in the form the real
 * server stores them (kube-apiserver-kinds.ts), and imitates what the real server does on writes:
 * resourceVersion, uid, creationTimestamp, generation, managedFields (sorted as the real server
 * sorts them), server-side apply with shared ownership and field-manager conflicts (tracked per
 * manager at the granularity of `spec.<field>`, `metadata.labels.<key>`,
 * `metadata.annotations.<key>`), a no-op write that changes nothing (not even managedFields
 * times), PUT with optional optimistic concurrency, `dryRun`, and lists paged with the real
 * server's `continue` tokens and `remainingItemCount`.
 */
import { randomUUID } from 'crypto';
import {
  apiVersionOf, failure, hasGeneration, invalidAnswer, isJson, Json, NAMESPACE_TYPE, notFound, qualifiedResource, ServedType, statusDetails, StoreAnswer, storedForm, validate,
} from './kube-apiserver-kinds';

// Tests import these from here.
export { failure, notFound, qualifiedResource, SERVED_TYPES } from './kube-apiserver-kinds';
export type { Json, ServedType, StoreAnswer } from './kube-apiserver-kinds';

interface Ownership {
  operation: 'Apply' | 'Update';
  fields: Map<string, string[]>;
  /** When this manager last changed the object; none for one that only came to share fields. */
  time?: string;
}

interface Stored {
  object: Json;
  owners: Map<string, Ownership>;
}

/** Options of a write or delete. */
export interface WriteOptions {
  /** Validate and answer as if written, store nothing (`?dryRun=All`). @default false */
  dryRun?: boolean;
}

/** JSON with sorted keys, so that equal objects compare equal whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    isJson(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner) ?? '';
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The field paths an object sets, at the granularity the store tracks ownership. */
function fieldPaths(object: Json): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata' && isJson(value)) {
      for (const sub of ['labels', 'annotations']) {
        const map = value[sub];
        if (!isJson(map)) continue;
        const keys = Object.keys(map);
        if (keys.length === 0) paths.push(['metadata', sub]); // the real server records an applied empty map too
        for (const entry of keys) paths.push(['metadata', sub, entry]);
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
const within = (path: string[], prefix: string[]): boolean => prefix.every((part, index) => path[index] === part);

function copyOwners(owners: Map<string, Ownership>): Map<string, Ownership> {
  return new Map([...owners].map(([manager, ownership]) => [manager, { ...ownership, fields: new Map(ownership.fields) }]));
}

/** `managedFields` in the real `FieldsV1` shape and order: Apply before Update, then by time, then by manager. */
function managedFields(type: ServedType, owners: Map<string, Ownership>): Json[] {
  const entries = [...owners.entries()].sort(([a, x], [b, y]) => byteOrder(x.operation, y.operation) || byteOrder(x.time ?? '', y.time ?? '') || byteOrder(a, b));
  return entries.map(([manager, ownership]) => {
    const fieldsV1: Json = {};
    for (const path of ownership.fields.values()) {
      let node = fieldsV1;
      for (const part of path) {
        const key = `f:${part}`;
        if (!isJson(node[key])) node[key] = {};
        node = node[key] as Json;
      }
    }
    const time = ownership.time === undefined ? {} : { time: ownership.time };
    return { manager, operation: ownership.operation, apiVersion: apiVersionOf(type), ...time, fieldsType: 'FieldsV1', fieldsV1 };
  });
}

/** How a conflict names a manager: an Update manager with the version it wrote. */
function conflictingManager(type: ServedType, manager: string, ownership: Ownership): string {
  return ownership.operation === 'Update' ? `"${manager}" using ${apiVersionOf(type)}` : `"${manager}"`;
}

/** The 409 of an apply that sets fields other managers own with other values. */
function conflictAnswer(type: ServedType, conflicts: Array<{ manager: string; ownership: Ownership; path: string[] }>): StoreAnswer {
  const sorted = [...conflicts].sort((a, b) => byteOrder(dotted(a.path), dotted(b.path)) || byteOrder(a.manager, b.manager));
  const managers = [...new Set(sorted.map((conflict) => conflict.manager))].sort(byteOrder);
  const name = (manager: string) => {
    const found = sorted.find((conflict) => conflict.manager === manager);
    return found === undefined ? `"${manager}"` : conflictingManager(type, manager, found.ownership);
  };
  const message =
    sorted.length === 1
      ? `Apply failed with 1 conflict: conflict with ${name(sorted[0].manager)}: ${dotted(sorted[0].path)}`
      : `Apply failed with ${sorted.length} conflicts: ${managers
          .map((manager) => [`conflicts with ${name(manager)}:`, ...sorted.filter((c) => c.manager === manager).map((c) => `- ${dotted(c.path)}`)].join('\n'))
          .join('\n')}`;
  return failure(409, 'Conflict', message, {
    causes: sorted.map((conflict) => ({ reason: 'FieldManagerConflict', message: `conflict with ${name(conflict.manager)}`, field: dotted(conflict.path) })),
  });
}

/** The real server's `continue` token: base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`. */
function continueToken(revision: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: `${lastKey}\u0000` }), 'utf8').toString('base64url');
}

function readContinueToken(token: string): { revision: number; start: string } | StoreAnswer {
  const invalid = (why: string) => failure(400, 'BadRequest', `invalid continue token: continue key is not valid: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error));
  }
  if (!isJson(parsed) || parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') {
    return invalid('server does not recognize this encoded key');
  }
  return { revision: parsed.rv, start: parsed.start };
}

/** In-memory objects of all served kinds. */
export class ObjectStore {
  private readonly objects = new Map<string, Stored>();
  private revision = 1000;

  constructor(namespaces: string[] = ['default', 'kube-system']) {
    for (const name of namespaces) this.apply(NAMESPACE_TYPE, undefined, name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'kube-apiserver', false);
  }

  private key(type: ServedType, namespace: string | undefined, name: string): string {
    return `${type.group}/${type.plural}/${namespace ?? ''}/${name}`;
  }

  private view(type: ServedType, stored: Stored): Json {
    const metadata: Json = { ...(stored.object.metadata as Json) };
    if (stored.owners.size > 0) metadata.managedFields = managedFields(type, stored.owners);
    return { ...stored.object, metadata };
  }

  namespaceExists(name: string): boolean {
    return this.objects.has(this.key(NAMESPACE_TYPE, undefined, name));
  }

  get(type: ServedType, namespace: string | undefined, name: string): StoreAnswer {
    const stored = this.objects.get(this.key(type, namespace, name));
    return stored === undefined ? notFound(type, name) : { status: 200, body: this.view(type, stored) };
  }

  /** Lists a kind in key order; with `limit`, pages with `continue` tokens and `remainingItemCount` like the real server. */
  list(type: ServedType, namespace: string | undefined, limit?: number, token?: string): StoreAnswer {
    const prefix = `${type.group}/${type.plural}/${namespace === undefined ? '' : `${namespace}/`}`;
    let revision = this.revision;
    let start = '';
    if (token !== undefined && token !== '') {
      const read = readContinueToken(token);
      if ('status' in read) return read;
      ({ revision, start } = read);
    }
    // The key a token names: the name within one namespace, `namespace/name` across namespaces.
    const listKey = (object: Json): string => {
      const metadata = object.metadata as Json;
      return type.namespaced && namespace === undefined ? `${String(metadata.namespace)}/${String(metadata.name)}` : String(metadata.name);
    };
    const all = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, stored]) => ({ key: listKey(stored.object), stored }))
      .filter((entry) => entry.key >= start)
      .sort((a, b) => byteOrder(a.key, b.key));
    const page = limit === undefined || limit <= 0 ? all : all.slice(0, limit);
    const metadata: Json = { resourceVersion: String(revision) };
    if (page.length < all.length) {
      metadata.continue = continueToken(revision, page[page.length - 1].key);
      metadata.remainingItemCount = all.length - page.length;
    }
    const items = page.map(({ stored }) => {
      const { apiVersion: _a, kind: _k, ...item } = this.view(type, stored);
      return item; // like the real server, list items of built-in kinds carry no apiVersion/kind
    });
    return { status: 200, body: { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items } };
  }

  /**
   * Deletes an object. A Namespace is answered as the real server answers (the object, phase
   * Terminating) and then removed with its objects at once, as a cluster's namespace controller would.
   */
  delete(type: ServedType, namespace: string | undefined, name: string, options: WriteOptions = {}): StoreAnswer {
    const key = this.key(type, namespace, name);
    const stored = this.objects.get(key);
    if (stored === undefined) return notFound(type, name);
    const metadata = stored.object.metadata as Json;
    if (type.kind === 'Namespace') {
      const terminating = this.view(type, stored);
      const resourceVersion = options.dryRun ? metadata.resourceVersion : String(++this.revision);
      terminating.metadata = { ...(terminating.metadata as Json), resourceVersion, deletionTimestamp: now() };
      terminating.status = { phase: 'Terminating' };
      if (!options.dryRun) {
        for (const other of [...this.objects.keys()]) if (other.split('/')[2] === name) this.objects.delete(other);
        this.objects.delete(key);
      }
      return { status: 200, body: terminating };
    }
    if (!options.dryRun) this.objects.delete(key);
    return { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...statusDetails(type.group, type.plural, name), uid: metadata.uid } } };
  }

  /** Server-side apply of `config` by `manager`. */
  apply(type: ServedType, namespace: string | undefined, name: string, config: Json, manager: string, force: boolean, options: WriteOptions = {}): StoreAnswer {
    const key = this.key(type, namespace, name);
    const existing = this.objects.get(key);
    const applied = fieldPaths(config);
    const owners = copyOwners(existing?.owners ?? new Map());
    const object: Json = existing === undefined ? {} : structuredClone(existing.object);

    // A field set to the value it has is shared with its owners; to another value, it conflicts.
    const conflicts: Array<{ manager: string; ownership: Ownership; path: string[] }> = [];
    for (const path of applied) {
      for (const [owner, ownership] of owners) {
        if (owner === manager || !ownership.fields.has(keyOf(path))) continue;
        if (!same(valueAt(object, path), valueAt(config, path))) conflicts.push({ manager: owner, ownership, path });
      }
    }
    if (conflicts.length > 0 && !force) return conflictAnswer(type, conflicts);
    for (const conflict of conflicts) owners.get(conflict.manager)?.fields.delete(keyOf(conflict.path));

    // Fields this manager applied before and no longer does are removed, unless someone else owns them.
    const appliedKeys = new Set(applied.map(keyOf));
    for (const [fieldKey, path] of owners.get(manager)?.fields ?? []) {
      const ownedByOthers = [...owners].some(([owner, ownership]) => owner !== manager && [...ownership.fields.values()].some((other) => within(other, path)));
      if (!appliedKeys.has(fieldKey) && !ownedByOthers) deleteAt(object, path);
    }
    for (const path of applied) setAt(object, path, structuredClone(valueAt(config, path)));
    owners.set(manager, { operation: 'Apply', fields: new Map(applied.map((path) => [keyOf(path), path])), time: owners.get(manager)?.time });
    for (const [owner, ownership] of owners) if (ownership.fields.size === 0) owners.delete(owner);
    return this.save(type, { key, namespace, name, manager }, existing, object, owners, options);
  }

  /**
   * `PUT`: replaces the object. With `metadata.resourceVersion` it must match the stored one
   * (409 otherwise); without, the update is unconditional. `manager` owns the fields it changed.
   */
  update(type: ServedType, namespace: string | undefined, name: string, replacement: Json, manager: string, options: WriteOptions = {}): StoreAnswer {
    const key = this.key(type, namespace, name);
    const existing = this.objects.get(key);
    if (existing === undefined) return notFound(type, name);
    const version = isJson(replacement.metadata) ? replacement.metadata.resourceVersion : undefined;
    if (typeof version === 'string' && version !== '' && version !== (existing.object.metadata as Json).resourceVersion) {
      return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, statusDetails(type.group, type.plural, name));
    }
    const after = storedForm(type, replacement, existing.object);
    const paths = new Map([...fieldPaths(existing.object), ...fieldPaths(after)].map((path) => [keyOf(path), path]));
    const changed = [...paths.values()].filter((path) => !same(valueAt(existing.object, path), valueAt(after, path)));
    const owners = copyOwners(existing.owners);
    for (const path of changed) for (const ownership of owners.values()) ownership.fields.delete(keyOf(path));
    const mine = owners.get(manager)?.fields ?? new Map<string, string[]>();
    for (const path of changed) if (valueAt(after, path) !== undefined) mine.set(keyOf(path), path);
    owners.set(manager, { operation: 'Update', fields: mine, time: owners.get(manager)?.time });
    for (const [owner, ownership] of owners) if (ownership.fields.size === 0) owners.delete(owner);
    return this.save(type, { key, namespace, name, manager }, existing, replacement, owners, options);
  }

  private save(
    type: ServedType,
    at: { key: string; namespace: string | undefined; name: string; manager: string },
    existing: Stored | undefined,
    draft: Json,
    owners: Map<string, Ownership>,
    options: WriteOptions,
  ): StoreAnswer {
    const previous = existing?.object.metadata as Json | undefined;
    const { managedFields: _dropped, ...draftMetadata } = isJson(draft.metadata) ? draft.metadata : {};
    const metadata: Json = { ...draftMetadata, name: at.name };
    if (type.namespaced) metadata.namespace = at.namespace;
    else delete metadata.namespace;
    const object = storedForm(type, { ...draft, apiVersion: apiVersionOf(type), kind: type.kind, metadata }, existing?.object);
    const causes = validate(type, object);
    if (causes.length > 0) return invalidAnswer(type, metadata.name, causes);

    const stored = object.metadata as Json;
    const writer = owners.get(at.manager);
    if (existing === undefined || previous === undefined) {
      Object.assign(stored, { uid: randomUUID(), creationTimestamp: now() });
      if (hasGeneration(type)) stored.generation = 1;
      if (!options.dryRun) stored.resourceVersion = String(++this.revision);
      if (writer !== undefined) writer.time = now();
    } else {
      for (const field of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) {
        if (previous[field] === undefined) delete stored[field];
        else stored[field] = previous[field];
      }
      const objectChanged = !same(existing.object, object);
      // Nothing changed: nothing is written, not even managedFields times.
      if (!objectChanged && same(managedFields(type, existing.owners), managedFields(type, owners))) return { status: 200, body: this.view(type, existing) };
      // Only a manager that changed the object gets a new time; one that came to share fields gets none.
      if (objectChanged && writer !== undefined) writer.time = now();
      if (hasGeneration(type) && !same(existing.object.spec, object.spec)) stored.generation = Number(previous.generation ?? 1) + 1;
      if (!options.dryRun) stored.resourceVersion = String(++this.revision);
    }
    if (!options.dryRun) this.objects.set(at.key, { object, owners });
    return { status: existing === undefined ? 201 : 200, body: this.view(type, { object, owners }) };
  }
}
