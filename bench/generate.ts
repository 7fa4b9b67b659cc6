/**
 * Synthetic fleets for benchmarks: N endpoints on H hosts in G label groups, with the Rancher
 * stack + groupBy rules and K Kubernetes policies. Deterministic: the same arguments give the
 * same model.
 */
import { ModelInput } from "../provider/model/model";

export interface FleetShape {
  endpoints: number;
  hosts: number;
  groups: number;
  kubernetesPolicies: number;
  namespaces?: number;
}

const ip = (i: number) => `10.${64 + ((i >> 16) & 0x3f)}.${(i >> 8) & 0xff}.${i & 0xff}`;

export function fleet(shape: FleetShape): ModelInput {
  const nsCount = shape.namespaces ?? 20;
  const namespaces = Array.from({ length: nsCount }, (_, n) => ({ name: `ns${n}`, labels: { team: `t${n % 5}` } }));
  const endpoints = Array.from({ length: shape.endpoints }, (_, i) => ({
    name: `ns${i % nsCount}/pod-${i}`,
    ips: [ip(i + 1)],
    // Hosts hold contiguous blocks and stacks stride differently from groups, so every host
    // carries many groups, stacks and policies (no accidental correlation shrinks the rulesets).
    host: `h${Math.floor((i * shape.hosts) / shape.endpoints)}`,
    namespace: `ns${i % nsCount}`,
    stack: `stack${Math.floor(i / 7) % 100}`,
    service: `svc${i % 7}`,
    labels: { group: `g${i % shape.groups}`, app: `a${i % 50}`, "com.rancher.department": `d${i % shape.groups}` },
    ports: [{ name: "http", port: 8000 + (i % 10) }],
  }));
  const networkPolicies = Array.from({ length: shape.kubernetesPolicies }, (_, k) => ({
    apiVersion: "networking.k8s.io/v1" as const,
    kind: "NetworkPolicy" as const,
    metadata: { name: `policy-${k}`, namespace: `ns${k % nsCount}` },
    spec: {
      podSelector: { matchLabels: { app: `a${k % 50}` } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { group: `g${(k * 2) % shape.groups}` } } }], ports: [{ port: 80 + (k % 20) }, { port: "http" }] },
        { from: [{ namespaceSelector: { matchLabels: { team: `t${k % 5}` } }, podSelector: { matchExpressions: [{ key: "app", operator: "In" as const, values: [`a${(k + 1) % 50}`] }] } }, { ipBlock: { cidr: "192.168.0.0/16", except: ["192.168.1.0/24"] } }] },
      ],
    },
  }));
  return {
    name: `bench-${shape.endpoints}`,
    hosts: Array.from({ length: shape.hosts }, (_, h) => ({ name: `h${h}` })),
    namespaces,
    endpoints,
    network: {
      defaultPolicyAction: "deny",
      policy: [{ within: "stack", action: "allow" }, { between: { groupBy: "com.rancher.department" }, action: "allow" }],
    },
    networkPolicies,
  };
}
