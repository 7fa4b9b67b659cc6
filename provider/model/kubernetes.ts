/**
 * Kubernetes NetworkPolicy: networking.k8s.io/v1 in full, and the older extensions/v1beta1 form
 * (same spec shape; converted to v1 on read).
 */
import { z } from "zod";
import { cidr, labelKey, labels, labelValue, portName, portNumber, protocolName } from "./common";
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

export const NetworkPolicyPort = z.object({
  /** @default "TCP" */
  protocol: protocolName.optional(),
  /** A number, or a named port that resolves on the destination endpoint. Omitted: every port. */
  port: z.union([portNumber, portName]).optional(),
  endPort: portNumber.optional(),
}).strict().superRefine((p, ctx) => {
  if (p.endPort === undefined) return;
  if (typeof p.port !== "number") {
    ctx.addIssue({ code: "custom", path: ["endPort"], message: "endPort needs a numeric port" });
  } else if (p.endPort < p.port) {
    ctx.addIssue({ code: "custom", path: ["endPort"], message: `endPort ${p.endPort} must be >= port ${p.port}` });
  }
});
export type NetworkPolicyPort = z.infer<typeof NetworkPolicyPort>;

const IngressRule = z.object({ from: z.array(NetworkPolicyPeer).optional(), ports: z.array(NetworkPolicyPort).optional() }).strict();
const EgressRule = z.object({ to: z.array(NetworkPolicyPeer).optional(), ports: z.array(NetworkPolicyPort).optional() }).strict();

const dnsSubdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  "must be a DNS subdomain: lowercase letters, digits, '-' and '.'");

export const NetworkPolicy = z.object({
  apiVersion: z.enum(["networking.k8s.io/v1", "extensions/v1beta1"], {
    errorMap: () => ({ message: 'apiVersion must be "networking.k8s.io/v1" or "extensions/v1beta1"' }),
  }),
  kind: z.literal("NetworkPolicy", { errorMap: () => ({ message: 'kind must be "NetworkPolicy"' }) }),
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
    ingress: z.array(IngressRule).optional(),
    egress: z.array(EgressRule).optional(),
  }).strict(),
}).strict();
export type NetworkPolicy = z.infer<typeof NetworkPolicy>;

/** The v1 form of a policy: extensions/v1beta1 objects are the same spec under another group. */
export function toNetworkingV1(p: NetworkPolicy): NetworkPolicy {
  return p.apiVersion === "networking.k8s.io/v1" ? p : { ...p, apiVersion: "networking.k8s.io/v1" };
}
