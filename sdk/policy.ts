/** The Calico selector policy resource. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { policyProvider } from "../provider/resources/document-providers";
import { CalicoPolicy } from "../provider/resources/schema";
import { CLUSTER_OUTPUTS, ClusterArgs, LiveObject, secretCluster } from "./cluster";
import { InputsOf, NoKeys, OnlyInOne } from "./input";

/** A Calico selector policy document: `name`, `order`, `selector`, inbound/outbound (or ingress/egress) rules. */
export type PolicyDocument = z.input<typeof CalicoPolicy>;
type Fields = InputsOf<PolicyDocument>;

/** A Calico selector policy's fields, and where else to write it. */
export interface PolicyArgs extends ClusterArgs {
  /** The policy's name (a DNS subdomain); ties in `order` are broken by it. Changing it replaces the policy. */
  name: Fields["name"];
  /** Lower orders apply first; a policy without an order comes after every ordered one. */
  order?: Fields["order"];
  /** The endpoints the policy applies to, by their labels, e.g. `"role == 'db'"`. */
  selector: Fields["selector"];
  /**
   * Rules for traffic to the selected endpoints, in order: the first whose match fits decides.
   * The policy governs ingress only when this (or `ingress`) is set; `[]` then denies.
   */
  inbound_rules?: Fields["inbound_rules"];
  /** Rules for traffic from the selected endpoints, in the same way as `inbound_rules`. */
  outbound_rules?: Fields["outbound_rules"];
  /** The v3 name of `inbound_rules`; set one of the two. */
  ingress?: Fields["ingress"];
  /** The v3 name of `outbound_rules`; set one of the two. */
  egress?: Fields["egress"];
}

/** Compiles only while PolicyArgs lists every field of the policy document and no other. */
type PolicyArgsMatchTheDocument = NoKeys<OnlyInOne<Omit<PolicyArgs, keyof ClusterArgs>, PolicyDocument>>;

/**
 * A Calico selector policy. It applies to the endpoints its `selector` matches, in the directions
 * it has rules for. Policies are tried before the endpoints' profiles, by `order` (lower first,
 * none last) then name; the first matching rule decides, `next-tier` (or `pass`) hands over to the
 * profiles, and traffic that no rule matches is denied.
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

  constructor(name: string, args: PolicyArgs, opts?: pulumi.CustomResourceOptions) {
    const { cluster, ...rest } = args;
    super(policyProvider, name, { ...rest, ...secretCluster(cluster), document: undefined, calicoObject: undefined, ...CLUSTER_OUTPUTS }, opts, "netpol", "Policy");
  }
}
