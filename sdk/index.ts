/**
 * pulumi-netpolicy: network policy as code. Declare networks (hosts, endpoints) and their
 * policies — Rancher, Calico or Kubernetes — and Pulumi enforces them in the hosts' packet filters
 * over SSH, or pushes NetworkPolicies to a cluster.
 */
export { Network } from "./network";
export type { AppliedHost, EndpointArgs, HostArgs, NamespaceArgs, NetworkArgs, RancherApplied, RancherRuleArgs, RancherTargetArgs, SshArgs } from "./network";
export { NetworkPolicy, Policy, Profile } from "./documents";
export type { ClusterTargetArgs, NetworkPolicyArgs, NetworkPolicyDocument, PolicyDocument, ProfileDocument } from "./documents";
export * as rancher from "./rancher";
export { kubernetesPorts, ports } from "./ports";
export type { KubernetesPort } from "./ports";
export type { DeepInput, InputsOf } from "./input";
export * as stackConfig from "./stack-config";
