/**
 * The WEB/APP example of Calico's "Advanced Network Policy" guide: WEB serves tcp 80/443 and ping
 * to everyone and carries the APP_7890 tag; APP serves tcp/7890 to holders of that tag. Profiles
 * are resources; the Network enforces them on the hosts. Config `webPorts` changes WEB's ports.
 *
 *   config: hosts (JSON, secret), privateKey (secret), placement (JSON), webPorts (JSON)
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Network, Profile, stackConfig } from "pulumi-netpolicy";

const config = new pulumi.Config();
const inventory = stackConfig.inventory(path.join(__dirname, "..", "models", "calico-web-app.yaml"), config);

const web = new Profile("WEB", {
  id: "WEB",
  tags: ["WEB", "APP_7890"],
  inbound_rules: [
    { action: "allow", protocol: "tcp", dst_ports: config.getObject<number[]>("webPorts") ?? [80, 443] },
    { action: "allow", protocol: "icmp", icmp_type: 8 },
  ],
  outbound_rules: [{ action: "allow" }],
});

const app = new Profile("APP", {
  id: "APP",
  inbound_rules: [
    { action: "allow", protocol: "tcp", dst_ports: [7890], src_tag: "APP_7890" },
    { action: "allow", protocol: "icmp", icmp_type: 8 },
  ],
  outbound_rules: [{ action: "allow" }],
});

const network = new Network("calico-web-app", {
  hosts: stackConfig.hosts(config),
  endpoints: inventory.endpoints,
  profiles: [web, app],
});

export const table = network.table;
export const applied = network.applied;
