/**
 * The Rancher side of a Network: its `defaultPolicyAction` and `policy` written to a Rancher 1.x
 * network (`PUT /v2-beta/projects/{project}/networks/{network}`), read back for drift, and on
 * delete the network put back as it was before the first write (its previous policy is kept in
 * the `rancherApplied` output). Every other field of the Rancher network is left as Rancher has it.
 */
import type { RancherNetwork, RancherNetworkPolicy, RancherNetworkTarget } from "../targets/rancher/client";
import type { ApiError } from "../targets/api-errors";
import { driftOf } from "./cluster-objects";
import { loadModule } from "./loader";
import type { NetworkInputs, RancherTarget } from "./schema";

type RancherClient = typeof import("../targets/rancher/client");

/** What the last write left on the Rancher network. No secrets. */
export interface RancherApplied {
  url: string;
  project: string;
  network: string;
  /** What was written. */
  defaultPolicyAction: "allow" | "deny";
  policy: unknown[];
  /** The network's policy before the first write; delete restores it. */
  previous: { defaultPolicyAction: "allow" | "deny"; policy: unknown[] };
  /** Set by a refresh that found the network's policy changed or gone. */
  drift?: string;
}

function client(): RancherClient {
  return loadModule<RancherClient>("targets/rancher/client");
}

function targetOf(r: RancherTarget): RancherNetworkTarget {
  return { url: r.url, project: r.project, network: r.network, accessKey: r.accessKey, secretKey: r.secretKey, ...(r.caPem !== undefined ? { caPem: r.caPem } : {}), ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}) };
}

/** The same Rancher network (a change of server, project or network is a move, not an update). */
export function sameRancherNetwork(a: Pick<RancherApplied, "url" | "project" | "network">, b: RancherTarget): boolean {
  return a.url.replace(/\/+$/, "") === b.url.replace(/\/+$/, "") && a.project === b.project && a.network === b.network;
}

function isApiError(e: unknown): e is ApiError {
  return e instanceof Error && e.name === "ApiError" && Array.isArray((e as { causes?: unknown }).causes);
}

/** `network NAME: rancher: STEP failed: CAUSE (input property: policy)`; Rancher's fieldName is an input name. */
export function rancherError(networkName: string, step: string, e: unknown): Error {
  const cause = e instanceof Error ? e.message : String(e);
  const fields = isApiError(e) ? [...new Set(e.causes.map((c) => c.field).filter((f): f is string => f !== undefined && f !== ""))] : [];
  const at = fields.length > 0 ? ` (input ${fields.length === 1 ? "property" : "properties"}: ${fields.join(", ")})` : "";
  return new Error(`network ${networkName}: rancher: ${step} failed: ${cause}${at}`);
}

/** What the Network asks Rancher for: Rancher's own default is allow with no rules. */
export function desiredPolicy(n: NetworkInputs): RancherNetworkPolicy {
  return { defaultPolicyAction: n.defaultPolicyAction ?? "allow", policy: n.policy ?? [] };
}

function policyOf(network: RancherNetwork): RancherApplied["previous"] {
  return { defaultPolicyAction: network.defaultPolicyAction === "deny" ? "deny" : "allow", policy: Array.isArray(network.policy) ? network.policy : [] };
}

/**
 * Writes the policy. `before` is the previous write to this same network (its `previous` is
 * kept); without it the network's current policy is recorded as `previous`.
 */
export async function applyRancher(n: NetworkInputs, r: RancherTarget, before: RancherApplied | undefined): Promise<RancherApplied> {
  const name = n.name ?? "";
  const target = targetOf(r);
  const desired = desiredPolicy(n);
  let previous = before?.previous;
  if (previous === undefined) {
    let current: RancherNetwork | undefined;
    try {
      current = await client().getNetwork(target);
    } catch (e) {
      throw rancherError(name, `reading network ${r.project}/${r.network}`, e);
    }
    if (!current) throw new Error(`network ${name}: rancher: network ${r.project}/${r.network} not found at ${r.url} (404); check the project and network ids`);
    previous = policyOf(current);
  }
  try {
    await client().putNetwork(target, desired);
  } catch (e) {
    throw rancherError(name, `writing network ${r.project}/${r.network}`, e);
  }
  return { url: r.url, project: r.project, network: r.network, ...desired, previous };
}

/** Reads the network back and sets `drift` when its policy is not what was written. */
export async function readRancher(n: NetworkInputs, r: RancherTarget, applied: RancherApplied | undefined): Promise<RancherApplied | undefined> {
  if (!applied) return undefined;
  let live: RancherNetwork | undefined;
  try {
    live = await client().getNetwork(targetOf(r));
  } catch (e) {
    throw rancherError(n.name ?? "", `reading network ${r.project}/${r.network}`, e);
  }
  const { drift: _old, ...rest } = applied;
  if (!live) return { ...rest, drift: "the network is gone from Rancher" };
  const written = { defaultPolicyAction: applied.defaultPolicyAction, policy: applied.policy };
  const lines = driftOf(written, policyOf(live));
  return lines.length === 0 ? rest : { ...rest, drift: `changed in Rancher: ${lines.join("; ")}` };
}

/** Puts the network back as it was before the first write. A network that is gone needs nothing. */
export async function restoreRancher(networkName: string, r: RancherTarget, applied: RancherApplied | undefined): Promise<void> {
  const previous = applied?.previous ?? { defaultPolicyAction: "allow", policy: [] };
  try {
    const live = await client().getNetwork(targetOf(r));
    if (!live) return;
    await client().putNetwork(targetOf(r), previous);
  } catch (e) {
    throw rancherError(networkName, `restoring network ${r.project}/${r.network}`, e);
  }
}
