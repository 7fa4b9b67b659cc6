/** The Kubernetes NetworkPolicy resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { networkPolicyProvider } from "../provider/resources/document-providers";
import { NetworkPolicyDoc } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf, NoKeys, OnlyInOne } from "./input";

/** A Kubernetes `networking.k8s.io/v1` (or `extensions/v1beta1`) NetworkPolicy object. */
export type NetworkPolicyDocument = z.input<typeof NetworkPolicyDoc>;

/** A Kubernetes NetworkPolicy object, and where else to write it. */
export interface NetworkPolicyArgs extends ClusterArgs {
  /** `"networking.k8s.io/v1"`, or `"extensions/v1beta1"` (converted to v1). @default "networking.k8s.io/v1" */
  apiVersion?: pulumi.Input<NetworkPolicyDocument["apiVersion"]>;
  /** Always `"NetworkPolicy"`. @default "NetworkPolicy" */
  kind?: pulumi.Input<"NetworkPolicy">;
  /** `name` and `namespace` (@default "default") identify the policy; changing them replaces it. */
  metadata: InputsOf<NetworkPolicyDocument>["metadata"];
  /**
   * The pods it selects (`podSelector`), the directions it isolates them in (`policyTypes`,
   * @default ["Ingress"], plus "Egress" when `egress` is a non-empty list), and the `ingress` / `egress` rules
   * that allow traffic.
   */
  spec: InputsOf<NetworkPolicyDocument>["spec"];
}

/** Compiles only while NetworkPolicyArgs lists every field of the NetworkPolicy object and no other. */
type NetworkPolicyArgsMatchTheDocument = NoKeys<OnlyInOne<Omit<NetworkPolicyArgs, keyof ClusterArgs>, NetworkPolicyDocument>>;

/**
 * A Kubernetes NetworkPolicy, as a document for a Network or pushed to a cluster. A pod that no
 * policy selects is not restricted by NetworkPolicies. Once a policy selects it for a direction,
 * only what some selecting policy allows there passes (the allows add up), and a connection needs
 * both the sender's egress and the receiver's ingress to allow it.
 */
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
