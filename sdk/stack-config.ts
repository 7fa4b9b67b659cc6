/**
 * Reading a network's environment from stack config, so one program runs against a test lab or
 * real machines: `hosts` (JSON list of hosts with their SSH settings; read as a secret), an
 * optional default `privateKey` / `password` (secrets), and `placement` (JSON: endpoint name →
 * `{host, ips}`) to move endpoints of an inventory file onto the machines at hand.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { parseModelText } from "../provider/model/model";
import type { EndpointArgs, HostArgs, NamespaceArgs } from "./network";

/** Where one endpoint of an inventory goes instead. */
export interface Placement {
  /** The host (by name) the endpoint is on now. @default the inventory's host */
  host?: string;
  /** The endpoint's addresses now. @default the inventory's ips */
  ips?: string[];
}

/**
 * The hosts of config key `hosts` (a JSON array of `{name, backend?, ssh: {...}}`). Hosts without
 * a key or password get config `privateKey` / `password`. The result is secret as a whole; the
 * Network keeps only the credentials secret.
 */
export function hosts(config: pulumi.Config = new pulumi.Config(), key = "hosts"): pulumi.Output<HostArgs[]> {
  const list = config.requireSecretObject<HostArgs[]>(key);
  const privateKey = config.getSecret("privateKey");
  const password = config.getSecret("password");
  return pulumi.all([list, privateKey, password]).apply(([hs, k, p]) => hs.map((h) => {
    if (!h.ssh || h.ssh.privateKey || h.ssh.password || h.ssh.privateKeyPath || h.ssh.agent) return h;
    return { ...h, ssh: { ...h.ssh, ...(k ? { privateKey: k } : p ? { password: p } : {}) } };
  }));
}

/** Endpoints moved by a placement map (unknown names are an error: a typo would silently do nothing). */
export function place(endpoints: readonly EndpointArgs[], placement: Record<string, Placement> | undefined): EndpointArgs[] {
  if (!placement) return [...endpoints];
  const names = new Set(endpoints.map((e) => e.name));
  const unknown = Object.keys(placement).filter((n) => !names.has(n));
  if (unknown.length > 0) throw new Error(`placement names endpoints that do not exist: ${unknown.join(", ")}`);
  return endpoints.map((e) => {
    const p = placement[e.name];
    return p ? { ...e, ...(p.host !== undefined ? { host: p.host } : {}), ...(p.ips !== undefined ? { ips: p.ips } : {}) } : e;
  });
}

/** What a model file holds for a Network besides its policies. */
export interface Inventory {
  /** The model's endpoints, placed. */
  endpoints: EndpointArgs[];
  /** The model's namespaces. */
  namespaces: NamespaceArgs[];
}

/**
 * Endpoints and namespaces of a model file (YAML or JSON, validated), placed by config
 * `placement` when set.
 */
export function inventory(file: string, config: pulumi.Config = new pulumi.Config()): Inventory {
  const model = parseModelText(fs.readFileSync(file, "utf8"), file);
  const placement = config.getObject<Record<string, Placement>>("placement");
  return { endpoints: place(model.endpoints ?? [], placement), namespaces: model.namespaces ?? [] };
}
