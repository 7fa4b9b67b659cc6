/** The Calico selector policy resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { policyProvider } from "../provider/resources/documents";
import { CalicoPolicy } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf } from "./input";

/** A Calico selector policy document: `name`, `order`, `selector`, inbound/outbound (or ingress/egress) rules. */
export type PolicyDocument = z.input<typeof CalicoPolicy>;

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
