/**
 * A small Kubernetes REST client for the kinds this project writes: server-side apply, get, list,
 * replace and delete. The requests themselves, their retries and errors are transport.ts.
 *
 * Create one per provider call (`KubeClient.connect(...)`): nothing lives at module level, because
 * dynamic providers are serialized and re-loaded elsewhere.
 *
 * Every failure is an `ApiError` that names the object and carries the API's `Status` message,
 * reason and field causes, e.g.
 * `networking.k8s.io/v1 NetworkPolicy default/web: 422 Invalid: ... spec.podSelector.matchLabels: Invalid value: ...`.
 */
import { ApiError, ClientInputError, stringField } from '../api-errors';
import { isRecord } from '../../model/common';
import { ClusterConnection, KubeconfigOptions, loadKubeconfig } from './kubeconfig';
import { CollectionRef, collectionPath, describeRef, ObjectRef, objectPath, resourceTypeFor } from './api-kinds';
import { Answer, isObjectNotFound, KubeTransport, TransportOptions } from './transport';

export type { CollectionRef, ObjectRef } from './api-kinds';

/** Tuning of requests, retries and lists. */
export interface KubeClientOptions extends TransportOptions {
  /** Objects per page for `list` (the API's `limit`; `continue` tokens are followed). @default 500 */
  pageSize?: number;
}

/** Options of a server-side apply. */
export interface ServerSideApplyOptions {
  /** Field manager that owns the applied fields. @default 'pulumi-netpolicy' */
  fieldManager?: string;
  /** Take over fields owned by other managers instead of failing with 409. @default false */
  force?: boolean;
  /** Ask the server to validate and admit the write without storing it (`dryRun=All`). @default false */
  dryRun?: boolean;
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

/** A client for one cluster and user. Cheap to create; create one per call. */
export class KubeClient {
  private readonly transport: KubeTransport;
  private readonly pageSize: number;

  /** Loads the kubeconfig (see `loadKubeconfig`) and returns a client for its context. */
  static async connect(options: KubeconfigOptions & KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await loadKubeconfig(options), options);
  }

  constructor(
    readonly connection: ClusterConnection,
    options: KubeClientOptions = {},
  ) {
    this.pageSize = Math.max(1, options.pageSize ?? 500);
    this.transport = new KubeTransport(connection, options);
  }

  /**
   * Server-side apply of `object` (`PATCH ...?fieldManager=...&force=...`,
   * `Content-Type: application/apply-patch+yaml`). Creates the object or updates the fields this
   * manager owns; a namespaced object without namespace goes to the context's namespace.
   * @returns the object as stored by the API server.
   */
  async apply(object: unknown, options: ServerSideApplyOptions = {}): Promise<KubeObject> {
    const desired = this.withNamespace(checkObject(object));
    const ref = refOf(desired);
    const fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
    const answer = await this.transport.request({
      method: 'PATCH',
      path: objectPath(ref),
      what: describeRef(ref),
      params: { fieldManager, force: String(options.force ?? false), ...(options.dryRun === true ? { dryRun: 'All' } : {}) },
      body: desired,
      contentType: 'application/apply-patch+yaml',
    });
    if (answer.status >= 300) throw this.failure(ref, answer);
    return asObject(answer.data, describeRef(ref));
  }

  /**
   * Reads one object; `undefined` when the API says it does not exist (a `NotFound` Status naming
   * it). A 404 for a kind the server does not serve is an `ApiError`, not an absent object.
   */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const answer = await this.transport.request({ method: 'GET', path: objectPath(ref), what: describeRef(ref) });
    if (isObjectNotFound(answer, ref.name)) return undefined;
    if (answer.status >= 300) throw this.failure(ref, answer);
    return asObject(answer.data, describeRef(ref));
  }

  /**
   * Replaces an object (`PUT`). With `metadata.resourceVersion` it must be the stored one, otherwise
   * the API answers 409 Conflict (optimistic concurrency); without, the update is unconditional.
   */
  async replace(object: unknown, options: { fieldManager?: string } = {}): Promise<KubeObject> {
    const desired = this.withNamespace(checkObject(object));
    const ref = refOf(desired);
    const answer = await this.transport.request({
      method: 'PUT',
      path: objectPath(ref),
      what: describeRef(ref),
      params: { fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER },
      body: desired,
      contentType: 'application/json',
    });
    if (answer.status >= 300) throw this.failure(ref, answer);
    return asObject(answer.data, describeRef(ref));
  }

  /** Deletes one object. @returns `'deleted'`, or `'absent'` when the API says it was already gone. */
  async delete(ref: ObjectRef): Promise<'deleted' | 'absent'> {
    const answer = await this.transport.request({ method: 'DELETE', path: objectPath(ref), what: describeRef(ref) });
    if (isObjectNotFound(answer, ref.name)) return 'absent';
    if (answer.status >= 300) throw this.failure(ref, answer);
    return 'deleted';
  }

  /** Lists the objects of a kind (one namespace, or all), following `continue` tokens. */
  async list(ref: CollectionRef): Promise<KubeObject[]> {
    resourceTypeFor(ref.apiVersion, ref.kind);
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const params: Record<string, string> = { limit: String(this.pageSize), ...(token === undefined ? {} : { continue: token }) };
      const answer = await this.transport.request({ method: 'GET', path: collectionPath(ref), what: describeRef(ref), params });
      if (answer.status >= 300) throw this.failure(ref, answer);
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

  /**
   * The error of a failed request. A 404 without a `Status` body is the API server's own
   * `404 page not found`: the kind's group/version is not served at all, which is not "absent".
   */
  private failure(ref: ObjectRef | CollectionRef, answer: Answer): ApiError {
    if (answer.status !== 404 || isStatus(answer.data)) return this.transport.statusError(describeRef(ref), answer, 1);
    const type = resourceTypeFor(ref.apiVersion, ref.kind);
    const provider = type.group === 'projectcalico.org'
      ? "in a Calico cluster the Calico API server serves it (calico-apiserver); Calico's CRDs alone (crd.projectcalico.org/v1) are not enough"
      : `the cluster's Kubernetes version does not serve ${type.plural}.${type.group}`;
    return new ApiError(
      `${describeRef(ref)}: the API server at ${this.connection.server} does not serve ${ref.apiVersion} (GET /apis/${ref.apiVersion} answers 404 page not found): ${provider}`,
      { status: 404, reason: 'NotServed' },
    );
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
}

/** Checks the shape of an object to write: apiVersion, kind, metadata.name (and a known kind). */
function checkObject(object: unknown): KubeObject {
  if (!isRecord(object)) throw new ClientInputError('must be an object', 'kubernetes object');
  const apiVersion = stringField(object, 'apiVersion');
  const kind = stringField(object, 'kind');
  if (apiVersion === undefined || kind === undefined) {
    throw new ClientInputError('needs apiVersion and kind, e.g. networking.k8s.io/v1 NetworkPolicy', 'kubernetes object');
  }
  const metadata = object.metadata;
  const name = isRecord(metadata) ? stringField(metadata, 'name') : undefined;
  if (!isRecord(metadata) || name === undefined || name === '') {
    throw new ClientInputError('needs metadata.name', `${apiVersion} ${kind}`);
  }
  const namespace = metadata.namespace;
  if (namespace !== undefined && typeof namespace !== 'string') {
    throw new ClientInputError('metadata.namespace must be a string', `${apiVersion} ${kind} ${name}`);
  }
  resourceTypeFor(apiVersion, kind);
  return { ...object, apiVersion, kind, metadata: { ...metadata, name, namespace } };
}

const isStatus = (data: unknown): boolean => isRecord(data) && data.kind === 'Status';

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
