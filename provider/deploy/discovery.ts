/**
 * Discovery: the endpoints of hosts that say `discover: docker`, read live from their Docker
 * daemons and added to the model before it is compiled. One step, here, for every door: the CLI
 * (`discover`, `plan`, `apply`, `reach`, `explain`) calls `discoverModel`, the mapping from a
 * container to an endpoint is `endpointOfContainer`.
 *
 * A container becomes an endpoint named after the container, on its host, with:
 * - `ips`: its address on every network it is attached to (IPv4 and IPv6), networks by name;
 * - `stack` / `service`: Docker Compose's `com.docker.compose.project` / `com.docker.compose.service`,
 *   else Rancher 1.x's `io.rancher.stack.name` / `io.rancher.stack_service.name` (`stack/service`);
 * - `labels`: its labels as they are, except those that are not valid label keys and values
 *   (they could never be selected; each is reported in the notes);
 * - `namespace`: the label `netpol.namespace`; `profiles`: the label `netpol.profiles`, comma separated.
 * Containers without an address (network mode host or none) are not endpoints; the notes say so.
 */
import { Endpoint, Host } from "../model/inventory";
import { InputError, InputIssue } from "../model/errors";
import { Model, parseModel } from "../model/model";
import { isLabelKey, isLabelValue } from "../model/selectors";
import type { SshTarget } from "../targets/ssh/connect";
import { DockerContainer, readContainers } from "../targets/ssh/docker-containers";
import { describeCause, HostError } from "../targets/ssh/host-error";
import { SshSession, withSession } from "../targets/ssh/session";

/** The label naming a container's Kubernetes-style namespace. */
export const NAMESPACE_LABEL = "netpol.namespace";
/** The label listing a container's Calico profiles, in order, comma separated. */
export const PROFILES_LABEL = "netpol.profiles";

/** What discovery found on one host, beyond the endpoints. */
export interface HostDiscovery {
  host: string;
  containers: DockerContainer[];
  endpoints: Endpoint[];
  /** Things left out, one line each (a container without address, a label that is not a label). */
  notes: string[];
}

export interface DiscoveredModel {
  /** The model with the discovered endpoints after the hand-written ones. */
  model: Model;
  hosts: HostDiscovery[];
}

/**
 * Discovery failed on at least one host: nothing was changed anywhere. The CLI prints the message
 * and exits with `reportedExit`.
 */
export class DiscoveryError extends Error {
  readonly reportedExit = 1;
  constructor(readonly failures: readonly HostError[]) {
    super(failures.map((f) => f.message).join("\n"));
    this.name = "DiscoveryError";
  }
}

/** Hosts of the model that discover their endpoints. */
export function discoveringHosts(model: Model): Host[] {
  return (model.hosts ?? []).filter((h) => h.discover === "docker");
}

/** One container as an endpoint of `host`, or why it is not one. Pure. */
export function endpointOfContainer(host: string, c: DockerContainer): { endpoint?: Endpoint; notes: string[] } {
  const notes: string[] = [];
  const ips = c.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((a): a is string => a !== undefined));
  if (ips.length === 0) return { notes: [`container ${c.name}: no address on any network (network mode host or none); not an endpoint`] };
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (isLabelKey(k) && isLabelValue(v)) labels[k] = v;
    else notes.push(`container ${c.name}: label ${JSON.stringify(k)} left out: ${isLabelKey(k) ? "its value is not a valid label value" : "not a valid label key"}`);
  }
  const l = c.labels;
  const rancherService = l["io.rancher.stack_service.name"];
  const stack = l["com.docker.compose.project"] ?? l["io.rancher.stack.name"];
  const service = l["com.docker.compose.service"] ?? (rancherService !== undefined ? rancherService.slice(rancherService.indexOf("/") + 1) : undefined);
  const profiles = l[PROFILES_LABEL]?.split(",").map((p) => p.trim()).filter((p) => p !== "");
  return {
    endpoint: {
      name: c.name,
      ips,
      host,
      ...(l[NAMESPACE_LABEL] !== undefined ? { namespace: l[NAMESPACE_LABEL] } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(stack !== undefined ? { stack } : {}),
      ...(service !== undefined ? { service } : {}),
      ...(profiles !== undefined && profiles.length > 0 ? { profiles } : {}),
    },
    notes,
  };
}

/** Where an endpoint came from, for messages. */
function origin(e: Endpoint, handWritten: number, index: number, containerOf: Map<Endpoint, DockerContainer>): string {
  if (index < handWritten) return `endpoints[${index}] (written in the model)`;
  const c = containerOf.get(e);
  return `container ${e.name} on host ${e.host ?? "?"}${c ? ` (id ${c.id.slice(0, 12)})` : ""}`;
}

/**
 * Adds the discovered endpoints to the model. A name or address used twice (hand-written and
 * discovered, or discovered on two hosts) is an InputError naming both; so is a discovered
 * endpoint the model's schema refuses (its path names the container). Pure.
 */
export function mergeDiscovered(model: Model, hosts: readonly HostDiscovery[], subject = "model"): Model {
  const handWritten = model.endpoints ?? [];
  const containerOf = new Map<Endpoint, DockerContainer>();
  for (const h of hosts) {
    h.endpoints.forEach((e) => {
      const c = h.containers.find((x) => x.name === e.name);
      if (c) containerOf.set(e, c);
    });
  }
  const all = [...handWritten, ...hosts.flatMap((h) => h.endpoints)];
  const issues: InputIssue[] = [];
  const byName = new Map<string, number>();
  const byAddress = new Map<string, number>();
  all.forEach((e, i) => {
    const where = origin(e, handWritten.length, i, containerOf);
    const first = byName.get(e.name);
    if (first !== undefined && i >= handWritten.length) {
      issues.push({ path: where, message: `endpoint name "${e.name}" is also used by ${origin(all[first], handWritten.length, first, containerOf)}; rename the container or the endpoint` });
    } else if (first === undefined) byName.set(e.name, i);
    for (const ip of e.ips) {
      const owner = byAddress.get(ip);
      if (owner !== undefined && owner !== i && i >= handWritten.length) {
        issues.push({
          path: where,
          message: `address ${ip} is also used by ${origin(all[owner], handWritten.length, owner, containerOf)}; ` +
            "each Docker host needs a bridge subnet of its own (dockerd --bip / --fixed-cidr-v6, or a user network's --subnet)",
        });
      } else if (owner === undefined) byAddress.set(ip, i);
    }
  });
  if (issues.length > 0) throw new InputError(subject, issues);
  try {
    return parseModel({ ...model, endpoints: all }, subject);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // Name the container instead of an index the user never wrote.
    throw new InputError(subject, e.issues.map((issue) => {
      const m = /^endpoints\[(\d+)\](.*)$/.exec(issue.path);
      const i = m ? Number(m[1]) : -1;
      if (i < handWritten.length) return issue;
      return { path: `${origin(all[i], handWritten.length, i, containerOf)}${m?.[2] ?? ""}`, message: issue.message };
    }));
  }
}

/** Reads one host's containers over SSH and maps them. Throws HostError naming the host and cause. */
export async function discoverHost(name: string, target: SshTarget): Promise<HostDiscovery> {
  try {
    return await withSession(target, name, (session) => discoverOn(name, session));
  } catch (e) {
    if (e instanceof HostError) throw e;
    throw new HostError({ host: name, step: "discover docker containers", cause: describeCause(e, [target.password, target.privateKey, target.passphrase]) });
  }
}

/** discoverHost over a session that is already open (watch reads on its event stream's connection). */
export async function discoverOn(name: string, session: SshSession): Promise<HostDiscovery> {
  const containers = await readContainers(session);
  const endpoints: Endpoint[] = [];
  const notes: string[] = [];
  for (const c of containers) {
    const r = endpointOfContainer(name, c);
    if (r.endpoint) endpoints.push(r.endpoint);
    notes.push(...r.notes);
  }
  return { host: name, containers, endpoints, notes };
}

/**
 * The model with the endpoints of every discovering host, read in parallel. Any host failing is a
 * DiscoveryError listing every failed host; nothing is read further and nothing is written.
 * `connections` must hold each discovering host (the CLI builds them from the hosts' ssh settings).
 */
export async function discoverModel(model: Model, connections: ReadonlyMap<string, SshTarget>, subject = "model"): Promise<DiscoveredModel> {
  const hosts = discoveringHosts(model);
  if (hosts.length === 0) return { model, hosts: [] };
  const results = await Promise.allSettled(hosts.map((h) => {
    const target = connections.get(h.name);
    if (!target) return Promise.reject(new HostError({ host: h.name, step: "discover docker containers", cause: "the host has no ssh settings", hint: "Add ssh: { host, user, privateKeyPath, hostKey } to it" }));
    return discoverHost(h.name, target);
  }));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof HostError ? r.reason : new HostError({ host: "?", step: "discover docker containers", cause: String(r.reason) })] : []));
  if (failures.length > 0) throw new DiscoveryError(failures);
  const found = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  return { model: mergeDiscovered(model, found, subject), hosts: found };
}
