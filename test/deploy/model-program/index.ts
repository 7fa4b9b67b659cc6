/**
 * A test program for the two-door tests: one Network declared from a model file, so a seed that has
 * no example program of its own (Rancher container isolation, the extensions/v1beta1 Kubernetes
 * seed) goes through `pulumi up` with exactly the documents `netpol apply` reads.
 *
 *   config: modelFile (path), hosts (JSON, secret), privateKey (secret), placement (JSON)
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Network, stackConfig } from "../../../sdk";
import type { ModelInput } from "../../../provider/model/model";

const config = new pulumi.Config();
const file = config.require("modelFile");
const model = parse(fs.readFileSync(file, "utf8")) as ModelInput;
const inventory = stackConfig.inventory(file, config);

const network = new Network(model.name ?? "default", {
  name: model.name,
  hosts: stackConfig.hosts(config),
  endpoints: inventory.endpoints,
  namespaces: inventory.namespaces,
  defaultPolicyAction: model.network?.defaultPolicyAction,
  policy: model.network?.policy,
  profiles: model.profiles,
  policies: model.policies,
  networkPolicies: model.networkPolicies,
});

export const table = network.table;
