/**
 * The API kinds this project writes, and the REST path of each object.
 *
 * Only kinds listed here can be applied, read or deleted: the path of a request is always built
 * from this table plus a validated name and namespace, never from free user text.
 */
import { ClientInputError } from '../api-errors';

/** Where a kind lives in the API. */
export interface ResourceType {
  /** API group; `''` is the core group (`/api/v1`). */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in the path, e.g. `networkpolicies`. */
  plural: string;
  /** Namespaced kinds live under `/namespaces/{ns}/`. */
  namespaced: boolean;
}

/** Identifies one object (or, without `name`, a collection for `list`). */
export interface ObjectRef {
  /** e.g. `networking.k8s.io/v1`, `projectcalico.org/v3`, `v1`. */
  apiVersion: string;
  kind: string;
  name: string;
  /** Required for namespaced kinds; ignored for cluster-scoped ones. */
  namespace?: string;
}

/** What `list` needs: a kind, and for namespaced kinds optionally one namespace. */
export interface CollectionRef {
  apiVersion: string;
  kind: string;
  /** @default all namespaces */
  namespace?: string;
}

/** The supported kinds: Kubernetes NetworkPolicy, the Calico v3 kinds and core Namespace. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', namespaced: false },
  { group: 'projectcalico.org', version: 'v3', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'projectcalico.org', version: 'v3', kind: 'Profile', plural: 'profiles', namespaced: false },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
];

/** The `ResourceType` of `apiVersion` + `kind`; `ClientInputError` listing the supported ones otherwise. */
export function resourceTypeFor(apiVersion: string, kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((type) => groupVersion(type) === apiVersion && type.kind === kind);
  if (found === undefined) {
    const supported = RESOURCE_TYPES.map((type) => `${groupVersion(type)} ${type.kind}`).join(', ');
    throw new ClientInputError(`unsupported kind "${apiVersion} ${kind}"; supported: ${supported}`, 'kubernetes object');
  }
  return found;
}

/** `group/version`, or just `version` for the core group. */
export function groupVersion(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `networking.k8s.io/v1 NetworkPolicy default/name` — how messages name an object. */
export function describeRef(ref: ObjectRef | CollectionRef): string {
  const name = 'name' in ref ? ref.name : '*';
  const scoped = ref.namespace !== undefined && isNamespaced(ref) ? `${ref.namespace}/${name}` : name;
  return `${ref.apiVersion} ${ref.kind} ${scoped}`;
}

function isNamespaced(ref: ObjectRef | CollectionRef): boolean {
  return RESOURCE_TYPES.some((type) => groupVersion(type) === ref.apiVersion && type.kind === ref.kind && type.namespaced);
}

/** DNS-1123 subdomain: what Kubernetes accepts as an object name (and all the path may contain). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label: what Kubernetes accepts as a namespace name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks an object name; the message says the rule. */
export function checkName(name: string, where: string): void {
  if (name.length === 0 || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new ClientInputError(
      `name "${name}" is not a valid Kubernetes name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`,
      where,
    );
  }
}

/** Checks a namespace name; the message says the rule. */
export function checkNamespace(namespace: string, where: string): void {
  if (namespace.length === 0 || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new ClientInputError(
      `namespace "${namespace}" is not a valid namespace name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
      where,
    );
  }
}

/**
 * The REST path of one object, e.g.
 * `/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/test-network-policy`.
 * Throws `ClientInputError` for unsupported kinds, invalid names, or a namespaced kind without namespace.
 */
export function objectPath(ref: ObjectRef): string {
  const type = resourceTypeFor(ref.apiVersion, ref.kind);
  checkName(ref.name, describeRef(ref));
  return `${collectionPathOf(type, ref.namespace, describeRef(ref), true)}/${ref.name}`;
}

/** The REST path of a collection; a namespaced kind without namespace lists all namespaces. */
export function collectionPath(ref: CollectionRef): string {
  return collectionPathOf(resourceTypeFor(ref.apiVersion, ref.kind), ref.namespace, describeRef(ref), false);
}

function collectionPathOf(type: ResourceType, namespace: string | undefined, where: string, needNamespace: boolean): string {
  const root = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (!type.namespaced) return `${root}/${type.plural}`;
  if (namespace === undefined || namespace === '') {
    if (needNamespace) throw new ClientInputError(`${type.kind} is namespaced; give metadata.namespace`, where);
    return `${root}/${type.plural}`;
  }
  checkNamespace(namespace, where);
  return `${root}/namespaces/${namespace}/${type.plural}`;
}
