/** The Calico profile resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { profileProvider } from "../provider/resources/documents";
import { CalicoProfile } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf } from "./input";

/** A Calico v1 profile document: `id`, `tags`, `inbound_rules`, `outbound_rules`. */
export type ProfileDocument = z.input<typeof CalicoProfile>;

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
