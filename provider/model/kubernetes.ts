/**
 * Kubernetes NetworkPolicy: networking.k8s.io/v1 in full, and the older extensions/v1beta1 form
 * (same spec shape; converted to v1 on read).
 */
import { IssueData, z } from "zod";
import { cidr, labelKey, labels, labelValue, PORT_NAME_RULE, portName, portNumber, ProtocolName, protocolName } from "./common";
import { byType, isPlainObject, pickedUnion, typeName } from "./picked-union";
import { didYouMean } from "./suggest";
import { contains, parseCidr } from "./net";

const MatchExpression = z.object({
  key: labelKey,
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"], {
    errorMap: () => ({ message: 'operator must be one of "In", "NotIn", "Exists", "DoesNotExist"' }),
  }),
  values: z.array(labelValue).optional(),
}).strict().superRefine((e, ctx) => {
  const needsValues = e.operator === "In" || e.operator === "NotIn";
  if (needsValues && (e.values ?? []).length === 0) {
    ctx.addIssue({ code: "custom", path: ["values"], message: `operator "${e.operator}" needs at least one value` });
  }
  if (!needsValues && (e.values ?? []).length > 0) {
    ctx.addIssue({ code: "custom", path: ["values"], message: `operator "${e.operator}" takes no values; remove them` });
  }
});

export const LabelSelectorSchema = z.object({
  matchLabels: labels.optional(),
  matchExpressions: z.array(MatchExpression).optional(),
}).strict();

const IPBlock = z.object({
  cidr,
  except: z.array(cidr).optional(),
}).strict().superRefine((b, ctx) => {
  const outer = parseCidr(b.cidr);
  if (!outer.ok) return;
  (b.except ?? []).forEach((e, i) => {
    const inner = parseCidr(e);
    if (inner.ok && !contains(outer.cidr, inner.cidr)) {
      ctx.addIssue({ code: "custom", path: ["except", i], message: `"${e}" is not inside cidr "${b.cidr}"; an except must lie within its cidr` });
    } else if (inner.ok && inner.cidr.prefix === outer.cidr.prefix) {
      // The API server refuses it too (422): an except must be strictly smaller than its cidr.
      ctx.addIssue({ code: "custom", path: ["except", i], message: `"${e}" is the whole cidr "${b.cidr}"; an except must be a smaller block inside it (or drop the peer)` });
    }
  });
});

export const NetworkPolicyPeer = z.object({
  podSelector: LabelSelectorSchema.optional(),
  namespaceSelector: LabelSelectorSchema.optional(),
  ipBlock: IPBlock.optional(),
}).strict().superRefine((p, ctx) => {
  if (p.ipBlock && (p.podSelector || p.namespaceSelector)) {
    ctx.addIssue({ code: "custom", path: ["ipBlock"], message: "ipBlock cannot be combined with podSelector or namespaceSelector in one peer; make it a separate peer" });
  }
  if (!p.ipBlock && !p.podSelector && !p.namespaceSelector) {
    ctx.addIssue({ code: "custom", message: "a peer needs podSelector, namespaceSelector or ipBlock" });
  }
});
export type NetworkPolicyPeer = z.infer<typeof NetworkPolicyPeer>;

/**
 * A NetworkPolicy port's protocol. networking.k8s.io/v1 takes the API server's spelling only
 * (upper case: it answers "Unsupported value" to "tcp"); extensions/v1beta1 documents, as the
 * seeds write them, may use any case.
 */
const protocolOf = (apiVersion: ApiVersion) => (apiVersion === "extensions/v1beta1" ? protocolName : z.string().transform((s, ctx): ProtocolName => {
  if (s === "TCP" || s === "UDP" || s === "SCTP") return s;
  const upper = s.toUpperCase();
  ctx.addIssue({
    code: "custom",
    message: upper === "TCP" || upper === "UDP" || upper === "SCTP"
      ? `must be "${upper}", not ${JSON.stringify(s)}: networking.k8s.io/v1 takes upper case, as the API server does`
      : `must be "TCP", "UDP" or "SCTP", not ${JSON.stringify(s)}`,
  });
  return z.NEVER;
}));

/** A named port; a number in quotes gets told to drop them. */
const portNameRef = z.string().superRefine((s, ctx) => {
  if (/^\d+$/.test(s)) ctx.addIssue({ code: "custom", message: `"${s}" is a number in quotes; write ${s} without quotes (a named port has at least one letter)` });
  else if (!portName.safeParse(s).success) ctx.addIssue({ code: "custom", message: `"${s}" is not a port name: ${PORT_NAME_RULE}` });
});

const portValue = byType([portNumber, portNameRef] as const, { number: portNumber, string: portNameRef }, "a port number 1-65535 or a port name");

const portSchema = (apiVersion: ApiVersion) => z.object({
  /** @default "TCP" */
  protocol: protocolOf(apiVersion).optional(),
  /** A number, or a named port that resolves on the destination endpoint. Omitted: every port. */
  port: portValue.optional(),
  endPort: portNumber.optional(),
}).strict().superRefine((p, ctx) => {
  if (p.endPort === undefined) return;
  if (typeof p.port !== "number") {
    ctx.addIssue({ code: "custom", path: ["endPort"], message: "endPort needs a numeric port" });
  } else if (p.endPort < p.port) {
    ctx.addIssue({ code: "custom", path: ["endPort"], message: `endPort ${p.endPort} must be >= port ${p.port}` });
  }
});
export const NetworkPolicyPort = portSchema("networking.k8s.io/v1");
export type NetworkPolicyPort = z.infer<typeof NetworkPolicyPort>;

const dnsSubdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  "must be a DNS subdomain: lowercase letters, digits, '-' and '.'");

export const API_VERSIONS = ["networking.k8s.io/v1", "extensions/v1beta1"] as const;
type ApiVersion = (typeof API_VERSIONS)[number];

const documentOf = <V extends ApiVersion>(apiVersion: V) => {
  const ports = z.array(portSchema(apiVersion)).optional();
  return z.object({
    apiVersion: z.literal(apiVersion),
    kind: z.literal("NetworkPolicy"),
    metadata: z.object({
      name: dnsSubdomain,
      /** @default "default" */
      namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "a namespace must be a DNS label").optional(),
      labels: labels.optional(),
      /** Keys as the API server checks them: a qualified name, like a label key. */
      annotations: z.record(labelKey, z.string()).optional(),
    }).strict(),
    spec: z.object({
      podSelector: LabelSelectorSchema,
      /** @default ["Ingress"], plus "Egress" when `egress` is a non-empty list (as the API server defaults it) */
      policyTypes: z.array(z.enum(["Ingress", "Egress"])).optional(),
      ingress: z.array(z.object({ from: z.array(NetworkPolicyPeer).optional(), ports }).strict()).optional(),
      egress: z.array(z.object({ to: z.array(NetworkPolicyPeer).optional(), ports }).strict()).optional(),
    }).strict(),
  }).strict();
};

const v1 = documentOf("networking.k8s.io/v1");
const v1beta1 = documentOf("extensions/v1beta1");

/** Kinds people put in a NetworkPolicy list by mistake, and where they belong. */
const OTHER_KINDS: Readonly<Record<string, string>> = {
  GlobalNetworkPolicy: "a Calico policy: write it under policies, in Calico's v1 form (name, order, selector, inbound_rules)",
  Profile: "a Calico profile: write it under profiles, in Calico's v1 form (id, tags, inbound_rules)",
};

/**
 * A NetworkPolicy object. `kind` and `apiVersion` are checked first, alone: with either wrong the
 * rest would be read against the wrong schema. Then the object is read as its apiVersion writes it.
 */
export const NetworkPolicy = pickedUnion([v1, v1beta1] as const, (data) => {
  if (!isPlainObject(data)) return { issues: [{ code: "custom", message: `must be a NetworkPolicy object, not ${typeName(data)}` }] };
  const issues: IssueData[] = [];
  const { kind, apiVersion } = data;
  const otherKind = typeof kind === "string" && kind in OTHER_KINDS;
  if (kind !== "NetworkPolicy") {
    const where = typeof kind === "string" ? OTHER_KINDS[kind] : undefined;
    issues.push({
      code: "custom", path: ["kind"],
      message: kind === undefined ? 'is required ("NetworkPolicy")'
        : `must be "NetworkPolicy", not ${JSON.stringify(kind)}${where ? `; that is ${where}` : typeof kind === "string" ? didYouMean(kind, ["NetworkPolicy"]) : ""}`,
    });
  }
  const known = (API_VERSIONS as readonly unknown[]).includes(apiVersion);
  // A Calico object's apiVersion is right for it: its kind says all.
  if (!known && !otherKind) {
    issues.push({
      code: "custom", path: ["apiVersion"],
      message: apiVersion === undefined ? 'is required ("networking.k8s.io/v1")'
        : `must be "networking.k8s.io/v1" or "extensions/v1beta1", not ${JSON.stringify(apiVersion)}${typeof apiVersion === "string" ? didYouMean(apiVersion, API_VERSIONS) : ""}`,
    });
  }
  if (issues.length > 0) return { issues };
  return { branch: apiVersion === "extensions/v1beta1" ? v1beta1 : v1 };
});
export type NetworkPolicy = z.infer<typeof NetworkPolicy>;

/** The v1 form of a policy: extensions/v1beta1 objects are the same spec under another group. */
export function toNetworkingV1(p: NetworkPolicy): NetworkPolicy {
  return p.apiVersion === "networking.k8s.io/v1" ? p : { ...p, apiVersion: "networking.k8s.io/v1" };
}
