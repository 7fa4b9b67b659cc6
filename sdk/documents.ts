/**
 * Calico profiles and policies, and Kubernetes NetworkPolicies, as resources. Without a cluster
 * target each is a validated document: pass the resource to a `Network` (its `profiles`,
 * `policies` or `networkPolicies`) and the Network enforces it on its hosts. A `NetworkPolicy` with
 * a `cluster` is also pushed to that cluster's API (server-side apply).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { networkPolicyProvider, policyProvider, profileProvider } from "../provider/resources/documents";
import { CalicoPolicy, CalicoProfile, ClusterTarget, NetworkPolicyDoc } from "../provider/resources/schema";
import { InputsOf } from "./input";

/** A Calico v1 profile document: `id`, `tags`, `inbound_rules`, `outbound_rules`. */
export type ProfileDocument = z.input<typeof CalicoProfile>;
/** A Calico selector policy document: `name`, `order`, `selector`, inbound/outbound (or ingress/egress) rules. */
export type PolicyDocument = z.input<typeof CalicoPolicy>;
/** A Kubernetes `networking.k8s.io/v1` (or `extensions/v1beta1`) NetworkPolicy object. */
export type NetworkPolicyDocument = z.input<typeof NetworkPolicyDoc>;
export type ClusterTargetArgs = z.input<typeof ClusterTarget>;

/**
 * A Calico profile. Omitted fields take calicoctl's defaults for a fresh profile: tags `[id]`,
 * inbound "allow from tag <id>", outbound "allow"; an explicit empty list means no rules (deny).
 * Endpoints use it by listing its id in their `profiles`, in order.
 */
export class Profile extends pulumi.dynamic.Resource {
  /** The validated profile, for `Network.profiles`. */
  declare readonly document: pulumi.Output<ProfileDocument>;
  /** The profile's id (`id` itself is the resource's id). */
  declare readonly profileId: pulumi.Output<string>;

  constructor(name: string, args: InputsOf<ProfileDocument>, opts?: pulumi.CustomResourceOptions) {
    // `id` is reserved for the resource id in Pulumi; the profile id travels as `profileId`.
    const { id, ...rest } = args;
    super(profileProvider, name, { ...rest, profileId: id, document: undefined }, opts, "netpol", "Profile");
  }
}

/**
 * A Calico selector policy: applies to the endpoints its `selector` matches; policies apply by
 * `order` (lower first, none = last) then name, before the endpoints' profiles.
 */
export class Policy extends pulumi.dynamic.Resource {
  /** The validated policy, for `Network.policies`. */
  declare readonly document: pulumi.Output<PolicyDocument>;

  constructor(name: string, args: InputsOf<PolicyDocument>, opts?: pulumi.CustomResourceOptions) {
    super(policyProvider, name, { ...args, document: undefined }, opts, "netpol", "Policy");
  }
}

export interface NetworkPolicyArgs {
  /** @default "networking.k8s.io/v1" */
  apiVersion?: pulumi.Input<NetworkPolicyDocument["apiVersion"]>;
  /** @default "NetworkPolicy" */
  kind?: pulumi.Input<"NetworkPolicy">;
  /** `name` and `namespace` (@default "default") identify the policy; changing them replaces it. */
  metadata: InputsOf<NetworkPolicyDocument>["metadata"];
  /**
   * Pods selected by `podSelector` are isolated in the directions of `policyTypes` (@default
   * ["Ingress"], plus "Egress" when there are egress rules); what is allowed is the union of the
   * rules of every policy selecting them, and both the sender's egress and the receiver's ingress
   * must allow.
   */
  spec: InputsOf<NetworkPolicyDocument>["spec"];
  /**
   * Push the policy to this cluster (kubeconfig path or `kubeconfigContent` text, context). The
   * whole target is stored as a secret. Without it the policy is a document for a Network.
   */
  cluster?: InputsOf<{ c: ClusterTargetArgs }>["c"];
}

/** A Kubernetes NetworkPolicy, as a document for a Network or pushed to a cluster. */
export class NetworkPolicy extends pulumi.dynamic.Resource {
  /** The validated policy (v1), for `Network.networkPolicies`. */
  declare readonly document: pulumi.Output<NetworkPolicyDocument>;

  constructor(name: string, args: NetworkPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    const { cluster, ...rest } = args;
    super(networkPolicyProvider, name, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      ...rest,
      ...(cluster !== undefined ? { cluster: pulumi.secret(cluster) } : {}),
      document: undefined,
      live: undefined,
    }, opts, "netpol", "NetworkPolicy");
  }
}
