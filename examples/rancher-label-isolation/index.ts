/**
 * Rancher seed, example 3: containers with the same `com.rancher.department` label talk to each
 * other; containers without the label talk to nobody. The three stacks come from
 * ../models/rancher-label-isolation.yaml. Config `groupBy` changes the label.
 *
 *   config: hosts (JSON, secret), privateKey (secret), placement (JSON), groupBy
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Network, rancher, stackConfig } from "pulumi-netpolicy";

const config = new pulumi.Config();
const inventory = stackConfig.inventory(path.join(__dirname, "..", "models", "rancher-label-isolation.yaml"), config);

const network = new Network("rancher-label-isolation", {
  hosts: stackConfig.hosts(config),
  endpoints: inventory.endpoints,
  defaultPolicyAction: "deny",
  policy: [rancher.groupBy(config.get("groupBy") ?? "com.rancher.department")],
});

export const table = network.table;
export const applied = network.applied;
