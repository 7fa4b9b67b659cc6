/** The Kubernetes NetworkPolicy resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { networkPolicyProvider } from "../provider/resources/documents";
import { NetworkPolicyDoc } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf } from "./input";

/** A Kubernetes `networking.k8s.io/v1` (or `extensions/v1beta1`) NetworkPolicy object. */
export type NetworkPolicyDocument = z.input<typeof NetworkPolicyDoc>;

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
