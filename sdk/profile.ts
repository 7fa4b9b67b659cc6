/** The Calico profile resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { profileProvider } from "../provider/resources/document-providers";
import { CalicoProfile } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf, NoKeys, OnlyInOne } from "./input";

/** A Calico v1 profile document: `id`, `tags`, `inbound_rules`, `outbound_rules`. */
export type ProfileDocument = z.input<typeof CalicoProfile>;
type Fields = InputsOf<ProfileDocument>;

/** A Calico v1 profile's fields, as `calicoctl` takes them, and where else to write it. */
export interface ProfileArgs extends ClusterArgs {
  /**
   * The profile's id (1-128 letters, digits, '_', '.', '-'), as endpoints list it in their
   * `profiles`. Changing it replaces the profile.
   */
  id: Fields["id"];
  /**
   * Tags the profile gives its endpoints; a rule's `src_tag` / `dst_tag` matches every endpoint
   * carrying the tag.
   * @default [id]
   */
  tags?: Fields["tags"];
  /**
   * Rules for traffic to the endpoint, in order: the first whose match fits decides; none
   * matching goes on to the endpoint's next profile. `[]` allows nothing.
   * @default [{ action: "allow", src_tag: id }] (only endpoints with the profile's tag)
   */
  inbound_rules?: Fields["inbound_rules"];
  /**
   * Rules for traffic from the endpoint, in the same way as `inbound_rules`.
   * @default [{ action: "allow" }]
   */
  outbound_rules?: Fields["outbound_rules"];
}

/** Compiles only while ProfileArgs lists every field of the profile document and no other. */
type ProfileArgsMatchTheDocument = NoKeys<OnlyInOne<Omit<ProfileArgs, keyof ClusterArgs>, ProfileDocument>>;

/**
 * A Calico v1 profile. An endpoint uses it by listing its id in its `profiles`; the endpoint's
 * profiles are tried in that order, and traffic no profile allows is denied. Omitted fields take
 * calicoctl's defaults for a fresh profile (tags `[id]`, inbound "allow from tag <id>", outbound
 * "allow"); an explicit empty list means no rules, so that direction is denied.
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

  constructor(name: string, args: ProfileArgs, opts?: pulumi.CustomResourceOptions) {
    // `id` is reserved for the resource id in Pulumi; the profile id travels as `profileId`.
    const { id, cluster, ...rest } = args;
    super(profileProvider, name, { ...rest, profileId: id, ...secretCluster(cluster), document: undefined, calicoObject: undefined, ...CLUSTER_OUTPUTS }, opts, "netpol", "Profile");
  }
}
