/**
 * Rancher seed, example 2: containers talk only within their stack. Optionally, config
 * `openPorts` (JSON list of TCP ports) opens those ports between all stacks.
 *
 *   config: hosts (JSON, secret), privateKey (secret), placement (JSON), openPorts (JSON)
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Network, ports, rancher, stackConfig } from "pulumi-netpolicy";

const config = new pulumi.Config();
const inventory = stackConfig.inventory(path.join(__dirname, "..", "models", "rancher-stack-isolation.yaml"), config);
const openPorts = config.getObject<number[]>("openPorts") ?? [];

const network = new Network("rancher-stack-isolation", {
  hosts: stackConfig.hosts(config),
  endpoints: inventory.endpoints,
  defaultPolicyAction: "deny",
  policy: [
    ...(openPorts.length > 0 ? [rancher.fromTo({ ports: openPorts.map(ports.tcp) })] : []),
    rancher.withinStack(),
  ],
});

export const table = network.table;
export const applied = network.applied;
