/**
 * TEST SERVER PART — the kinds `kube-apiserver.ts` serves, and what the real API server (v1.26.3,
 * checked against it by test/targets/kube/test-apiserver.test.ts) does to an object of each before
 * storing it and when it refuses one:
 *
 * - the stored form: Go's `omitempty` drops empty lists and maps (`ingress: []`, `from: []`,
 *   `matchLabels: {}`, empty labels ...), while struct fields stay even when empty
 *   (`podSelector: {}`, `namespaceSelector: {}`, `status: {}`); Calico's kinds keep their spec as
 *   written (CustomResourceDefinitions with preserved fields stand in for them on the real server);
 * - defaults: `SetDefaults_NetworkPolicy` (`policyTypes`, only when empty: Ingress, plus Egress
 *   when `egress` is not empty) and `protocol: TCP` on ports; a Namespace's label
 *   `kubernetes.io/metadata.name`, its `kubernetes` finalizer and `phase: Active`;
 * - a few validation rules, answered as 422 `Invalid` with `details.causes` in the real wording.
 */

export type Json = Record<string, unknown>;

export const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

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

export const NAMESPACE_TYPE = SERVED_TYPES[SERVED_TYPES.length - 1];

/** Groups compiled into kube-apiserver: an unknown path inside them is a JSON `Status`, not plain text. */
export const BUILT_IN_GROUPS: readonly string[] = ['', 'networking.k8s.io'];

/** `networkpolicies.networking.k8s.io`, or `namespaces` for the core group. */
export const qualifiedResource = (type: ServedType): string => (type.group === '' ? type.plural : `${type.plural}.${type.group}`);
export const apiVersionOf = (type: ServedType): string => (type.group === '' ? type.version : `${type.group}/${type.version}`);

/** Kinds whose `metadata.generation` counts spec changes (Namespaces have none). */
export const hasGeneration = (type: ServedType): boolean => type.kind !== 'Namespace';

/** The answer to one request: HTTP status and JSON body. */
export interface StoreAnswer {
  status: number;
  body: Json;
}

/** A `Status` failure body, shaped like the real API server's. */
export function failure(code: number, reason: string, message: string, details?: Json): StoreAnswer {
  const body: Json = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message };
  if (reason !== '') body.reason = reason;
  if (details !== undefined) body.details = details;
  body.code = code;
  return { status: code, body };
}

/** `details` of a `Status` about one resource: like Go's `omitempty`, no empty name or group. */
export function statusDetails(group: string, kind: string, name?: string): Json {
  return { ...(name === undefined || name === '' ? {} : { name }), ...(group === '' ? {} : { group }), kind };
}

export function notFound(type: ServedType, name: string): StoreAnswer {
  return failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, statusDetails(type.group, type.plural, name));
}

/** How a Go field is written: lists and maps are `omitempty`; structs always; pointers unless null. */
type GoField = 'list' | 'map' | { list: GoStruct } | { struct: GoStruct } | { pointer: GoStruct };
interface GoStruct {
  [field: string]: GoField;
}

const OBJECT_META: GoStruct = { labels: 'map', annotations: 'map', finalizers: 'list' };
const LABEL_SELECTOR: GoStruct = { matchLabels: 'map', matchExpressions: { list: { values: 'list' } } };
const PEER: GoStruct = { podSelector: { pointer: LABEL_SELECTOR }, namespaceSelector: { pointer: LABEL_SELECTOR }, ipBlock: { pointer: { except: 'list' } } };
const NETWORK_POLICY: GoStruct = {
  metadata: { struct: OBJECT_META },
  spec: {
    struct: {
      podSelector: { struct: LABEL_SELECTOR },
      ingress: { list: { ports: 'list', from: { list: PEER } } },
      egress: { list: { ports: 'list', to: { list: PEER } } },
      policyTypes: 'list',
    },
  },
  status: { struct: { conditions: 'list' } },
};
const NAMESPACE: GoStruct = { metadata: { struct: OBJECT_META }, spec: { struct: { finalizers: 'list' } }, status: { struct: {} } };
/** Custom resources: only their metadata is a Go type. */
const CUSTOM_RESOURCE: GoStruct = { metadata: { struct: OBJECT_META } };

function goStructOf(type: ServedType): GoStruct {
  if (type.group === 'networking.k8s.io') return NETWORK_POLICY;
  if (type.kind === 'Namespace') return NAMESPACE;
  return CUSTOM_RESOURCE;
}

/** Drops what `omitempty` drops and adds the empty structs Go always writes (in place). */
function writeAsGo(object: Json, shape: GoStruct): void {
  for (const [field, kind] of Object.entries(shape)) {
    const value = object[field];
    if (typeof kind === 'object' && 'struct' in kind) {
      if (!isJson(value)) object[field] = {};
      writeAsGo(object[field] as Json, kind.struct);
    } else if (typeof kind === 'object' && 'pointer' in kind) {
      if (value === null) delete object[field];
      else if (isJson(value)) writeAsGo(value, kind.pointer);
    } else if (value === null || (Array.isArray(value) && value.length === 0) || (kind === 'map' && isJson(value) && Object.keys(value).length === 0)) {
      delete object[field];
    } else if (typeof kind === 'object' && Array.isArray(value)) {
      for (const item of value) if (isJson(item)) writeAsGo(item, kind.list);
    }
  }
}

/** `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort` (pkg/apis/networking/v1/defaults.go). */
function defaultNetworkPolicy(spec: Json): void {
  for (const direction of ['ingress', 'egress']) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      const ports = isJson(rule) ? rule.ports : undefined;
      if (!Array.isArray(ports)) continue;
      for (const port of ports) if (isJson(port) && (port.protocol === undefined || port.protocol === null)) port.protocol = 'TCP';
    }
  }
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length !== 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

/**
 * The object as the real server stores it (a new object): defaults, the Namespace strategy
 * (spec and status kept from `previous` on update) and Go's way of writing it.
 */
export function storedForm(type: ServedType, object: Json, previous?: Json): Json {
  const stored = structuredClone(object);
  if (type.group === 'networking.k8s.io') {
    if (!isJson(stored.spec)) stored.spec = {};
    defaultNetworkPolicy(stored.spec as Json);
  }
  if (type.kind === 'Namespace') {
    const metadata = isJson(stored.metadata) ? stored.metadata : {};
    metadata.labels = { ...(isJson(metadata.labels) ? metadata.labels : {}), 'kubernetes.io/metadata.name': metadata.name };
    stored.metadata = metadata;
    if (previous !== undefined) {
      stored.spec = structuredClone(previous.spec);
      stored.status = structuredClone(previous.status);
    } else {
      const finalizers = isJson(stored.spec) && Array.isArray(stored.spec.finalizers) ? stored.spec.finalizers : [];
      stored.spec = { finalizers: finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'] };
      stored.status = { phase: 'Active' };
    }
  }
  writeAsGo(stored, goStructOf(type));
  return stored;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A few of the real validation rules, enough to produce realistic 422 answers. */
export function validate(type: ServedType, object: Json): Json[] {
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
    for (const direction of ['ingress', 'egress']) {
      const rules = Array.isArray(spec[direction]) ? (spec[direction] as unknown[]) : [];
      rules.forEach((rule, ruleIndex) => {
        const ports = isJson(rule) && Array.isArray(rule.ports) ? rule.ports : [];
        ports.forEach((port: unknown, portIndex) => {
          if (!isJson(port) || port.endPort === undefined) return;
          const field = `spec.${direction}[${ruleIndex}].ports[${portIndex}].endPort`;
          if (typeof port.port !== 'number') invalid(field, port.endPort, 'may not be specified when `port` is non-numeric');
          else if (typeof port.endPort === 'number' && port.endPort < port.port) invalid(field, port.endPort, 'must be greater than or equal to `port`');
        });
      });
    }
    const policyTypes = spec.policyTypes;
    if (Array.isArray(policyTypes)) {
      policyTypes.forEach((value, index) => {
        if (value !== 'Ingress' && value !== 'Egress') {
          causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Ingress", "Egress"`, field: `spec.policyTypes[${index}]` });
        }
      });
    }
  }
  if (type.group === 'projectcalico.org') validateCalico(object, causes);
  return causes;
}

const CALICO_ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'];

/**
 * Calico's own validation of rules (`libcalico-go` validator): actions, ICMP type 0-254, code
 * 0-255. The Calico API server does this; the CRDs standing in for it on the real test server do not.
 */
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

/**
 * The 422 for `causes`. v1.26.3 names a NetworkPolicy's group `extensions` here (the internal
 * type is registered there too): `NetworkPolicy.extensions "x" is invalid`, `details.group: extensions`.
 */
export function invalidAnswer(type: ServedType, name: unknown, causes: Json[]): StoreAnswer {
  const parts = causes.map((cause) => `${String(cause.field)}: ${String(cause.message)}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const shownName = typeof name === 'string' ? name : '';
  const group = type.group === 'networking.k8s.io' ? 'extensions' : type.group;
  const subject = group === '' ? type.kind : `${type.kind}.${group}`;
  return failure(422, 'Invalid', `${subject} "${shownName}" is invalid: ${summary}`, { ...statusDetails(group, type.kind, shownName), causes });
}
