/**
 * The targets a model can be enforced on, and how each is built from what a door supplies. A door
 * fills in the parts of `DeployInput` it has (connections, a cluster client, a Rancher network);
 * every registered target whose part is there takes part, in this order.
 *
 * A new target is a folder implementing `Target`, a part of `DeployInput`, and one line below.
 */
import type { Model } from "../model/model";
import type { KubeClient } from "../targets/kube/client";
import type { RancherNetworkPolicy, RancherNetworkTarget } from "../targets/rancher/client";
import { ClusterOptions, ClusterTarget } from "./cluster/target";
import { DesiredObject } from "./cluster/objects";
import type { HostDriver } from "./hosts/driver";
import { desiredHosts } from "./hosts/rules";
import { HostConnection, HostsTarget } from "./hosts/target";
import { RancherApplied, RancherTarget } from "./rancher/target";
import type { Target, TargetKind } from "./target";

export interface DeployInput {
  model: Model;
  hosts?: {
    connections: readonly HostConnection[];
    /** Only these hosts of the model. @default all */
    only?: readonly string[];
    /** @default the SSH driver */
    driver?: HostDriver;
    /** Hosts at once. @default 16 */
    concurrency?: number;
  };
  cluster?: {
    client: KubeClient;
    title: string;
    /** The objects to keep there (desiredObjects of the model, or one resource's object). */
    objects: readonly DesiredObject[];
    options?: ClusterOptions;
  };
  rancher?: {
    target: RancherNetworkTarget;
    desired: RancherNetworkPolicy;
    /** The record of the last write to this network. */
    before?: RancherApplied;
  };
}

const REGISTRY: { [K in TargetKind]: (input: DeployInput) => Target | undefined } = {
  hosts: ({ model, hosts }) => (hosts ? new HostsTarget(desiredHosts(model, hosts.only), hosts.connections, hosts.driver, hosts.concurrency) : undefined),
  cluster: ({ cluster }) => (cluster ? new ClusterTarget(cluster.title, cluster.objects, cluster.client, cluster.options) : undefined),
  rancher: ({ model, rancher }) => (rancher ? new RancherTarget(model.name ?? "default", rancher.target, rancher.desired, rancher.before) : undefined),
};

/** The targets of a deployment, in registry order. */
export function targetsOf(input: DeployInput): Target[] {
  return (Object.keys(REGISTRY) as TargetKind[]).flatMap((kind) => REGISTRY[kind](input) ?? []);
}
