/**
 * Calico profiles and policies, and Kubernetes NetworkPolicies, as resources. Without a cluster
 * target each is a validated document: pass the resource to a `Network` (its `profiles`,
 * `policies` or `networkPolicies`) and the Network enforces it on its hosts. With a `cluster` the
 * document is also written to that cluster's API by server-side apply: a NetworkPolicy as itself,
 * a Profile as a Calico `projectcalico.org/v3` Profile, a Policy as a GlobalNetworkPolicy.
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
type ClusterInput = InputsOf<{ c: ClusterTargetArgs }>["c"];

/** What a document written to a cluster looks like there now, and what changed by hand. */
export interface LiveObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The cluster target argument shared by Profile, Policy and NetworkPolicy. */
export interface ClusterArgs {
  /**
   * Write the document to this cluster: `kubeconfig` (a path) or `kubeconfigContent` (the text),
   * `context`, `fieldManager` (@default "pulumi-netpolicy"), `force` (take over fields another
   * manager owns; @default false). The whole target is stored as a secret. Without it the
   * document is only for a Network.
   *
   * The cluster is the API server the kubeconfig's context resolves to, not the kubeconfig text:
   * a new token, client certificate or CA for the same server (or another context on it) updates
   * in place; another server replaces the object (created there, deleted from the old server with
   * the old kubeconfig). For a kubeconfig file, a sha256 of the server is kept in the state
   * (`clusterServerSha256`) to notice a file rewritten to another server.
   */
  cluster?: ClusterInput;
}

function secretCluster(cluster: ClusterInput | undefined): Record<string, unknown> {
  return cluster !== undefined ? { cluster: pulumi.secret(cluster) } : {};
}

/** Outputs a resource with a cluster target has (undefined without one). */
const CLUSTER_OUTPUTS = { live: undefined, drift: undefined } as const;

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
  /** With a cluster: the Calico v3 Profile written (tags → labelsToApply, rules → ingress / egress). */
  declare readonly calicoObject: pulumi.Output<LiveObject | undefined>;
  /** With a cluster: the object as the cluster has it (after create, update or refresh). */
  declare readonly live: pulumi.Output<LiveObject | undefined>;
  /** Set by a refresh that found written fields changed in the cluster: which, and from what to what. */
  declare readonly drift: pulumi.Output<string | undefined>;

  constructor(name: string, args: InputsOf<ProfileDocument> & ClusterArgs, opts?: pulumi.CustomResourceOptions) {
    // `id` is reserved for the resource id in Pulumi; the profile id travels as `profileId`.
    const { id, cluster, ...rest } = args;
    super(profileProvider, name, { ...rest, profileId: id, ...secretCluster(cluster), document: undefined, calicoObject: undefined, ...CLUSTER_OUTPUTS }, opts, "netpol", "Profile");
  }
}

/**
 * A Calico selector policy: applies to the endpoints its `selector` matches; policies apply by
 * `order` (lower first, none = last) then name, before the endpoints' profiles.
 */
export class Policy extends pulumi.dynamic.Resource {
  /** The validated policy, for `Network.policies`. */
  declare readonly document: pulumi.Output<PolicyDocument>;
  /** With a cluster: the Calico v3 GlobalNetworkPolicy written. */
  declare readonly calicoObject: pulumi.Output<LiveObject | undefined>;
  /** With a cluster: the object as the cluster has it (after create, update or refresh). */
  declare readonly live: pulumi.Output<LiveObject | undefined>;
  /** Set by a refresh that found written fields changed in the cluster: which, and from what to what. */
  declare readonly drift: pulumi.Output<string | undefined>;

  constructor(name: string, args: InputsOf<PolicyDocument> & ClusterArgs, opts?: pulumi.CustomResourceOptions) {
    const { cluster, ...rest } = args;
    super(policyProvider, name, { ...rest, ...secretCluster(cluster), document: undefined, calicoObject: undefined, ...CLUSTER_OUTPUTS }, opts, "netpol", "Policy");
  }
}

export interface NetworkPolicyArgs extends ClusterArgs {
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
}

/** A Kubernetes NetworkPolicy, as a document for a Network or pushed to a cluster. */
export class NetworkPolicy extends pulumi.dynamic.Resource {
  /** The validated policy (v1), for `Network.networkPolicies`. */
  declare readonly document: pulumi.Output<NetworkPolicyDocument>;
  /** With a cluster: the object as the cluster has it (after create, update or refresh). */
  declare readonly live: pulumi.Output<LiveObject | undefined>;
  /** Set by a refresh that found written fields changed in the cluster: which, and from what to what. */
  declare readonly drift: pulumi.Output<string | undefined>;

  constructor(name: string, args: NetworkPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    const { cluster, ...rest } = args;
    super(networkPolicyProvider, name, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      ...rest,
      ...secretCluster(cluster),
      document: undefined,
      ...CLUSTER_OUTPUTS,
    }, opts, "netpol", "NetworkPolicy");
  }
}
