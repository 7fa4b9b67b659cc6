/**
 * Quick start: two hosts, a web and a database tier in two stacks, Rancher policy in a few lines.
 * Config: `dbPort` (@default 5432). Hosts come from stack config (`hosts`, secret JSON; `privateKey`, secret), so the same program
 * runs against a test lab or real machines; `placement` (JSON) moves endpoints onto them.
 *
 *   npm run engine -- preview . --secret hosts='[…]' --secret privateKey="$(cat key)"
 */
import * as pulumi from "@pulumi/pulumi";
import { Network, ports, rancher, stackConfig } from "../../sdk";

const config = new pulumi.Config();
/** The database port the web tier may use. */
const dbPort = config.getNumber("dbPort") ?? 5432;

const network = new Network("quickstart", {
  hosts: stackConfig.hosts(config),
  endpoints: stackConfig.place([
    { name: "web-1", host: "h1", ips: ["10.44.1.10"], stack: "shop", service: "web", labels: { tier: "web" } },
    { name: "db-1", host: "h2", ips: ["10.44.2.10"], stack: "shop", service: "db", labels: { tier: "db" } },
    { name: "admin-1", host: "h1", ips: ["10.44.1.20"], stack: "ops", service: "admin", labels: { tier: "admin" } },
  ], config.getObject("placement")),
  defaultPolicyAction: "deny",
  policy: [
    // The database takes only web traffic on 5432; everything else stays inside its stack.
    rancher.fromTo({ from: "tier=web", to: "tier=db", ports: [ports.tcp(dbPort)] }),
    rancher.fromTo({ to: "tier=db", action: "deny" }),
    rancher.withinStack(),
  ],
});

export const table = network.table;
export const applied = network.applied;
