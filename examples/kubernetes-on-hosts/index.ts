/**
 * The Kubernetes seed's NetworkPolicy, enforced on hosts: role=db pods in namespace default accept
 * tcp/6379 from every pod of a namespace labelled project=myproject and from role=frontend pods of
 * their own namespace. Config `redisPort` changes the port.
 *
 *   config: hosts (JSON, secret), privateKey (secret), placement (JSON), redisPort
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { kubernetesPorts, Network, NetworkPolicy, stackConfig } from "pulumi-netpolicy";

const config = new pulumi.Config();
const inventory = stackConfig.inventory(path.join(__dirname, "..", "models", "kubernetes-seed.yaml"), config);

const policy = new NetworkPolicy("test-network-policy", {
  metadata: { name: "test-network-policy", namespace: "default" },
  spec: {
    podSelector: { matchLabels: { role: "db" } },
    ingress: [{
      from: [
        { namespaceSelector: { matchLabels: { project: "myproject" } } },
        { podSelector: { matchLabels: { role: "frontend" } } },
      ],
      ports: [kubernetesPorts.tcp(config.getNumber("redisPort") ?? 6379)],
    }],
  },
});

const network = new Network("kubernetes-seed", {
  hosts: stackConfig.hosts(config),
  namespaces: inventory.namespaces,
  endpoints: inventory.endpoints,
  networkPolicies: [policy],
});

export const table = network.table;
export const applied = network.applied;
