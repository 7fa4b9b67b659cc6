/**
 * pulumi-netpolicy: network policy as code. Declare networks (hosts, endpoints) and their
 * policies — Rancher, Calico or Kubernetes — and Pulumi enforces them in the hosts' packet filters
 * over SSH, or pushes NetworkPolicies to a cluster.
 */
export { Network } from "./network";
export type { AppliedHost, EndpointArgs, HostArgs, NamespaceArgs, NetworkArgs, RancherApplied, RancherRuleArgs, RancherTargetArgs, SshArgs } from "./network";
export { Profile } from "./profile";
export type { ProfileDocument } from "./profile";
export { Policy } from "./policy";
export type { PolicyDocument } from "./policy";
export { NetworkPolicy } from "./network-policy";
export type { NetworkPolicyArgs, NetworkPolicyDocument } from "./network-policy";
export type { ClusterTargetArgs } from "./cluster";
export * as rancher from "./rancher";
export { kubernetesPorts, ports } from "./ports";
export type { KubernetesPort } from "./ports";
export type { DeepInput, InputsOf } from "./input";
export * as stackConfig from "./stack-config";
