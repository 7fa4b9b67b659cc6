/**
 * What the Network provider does, loaded at call time by the serializable provider object in
 * network.ts. It only translates props to and from the deploy layer: check describes who may
 * reach whom (the `access` input) and renders each host's rules (the `rules` input), so a preview
 * diff shows the connections opened and closed, then the rule lines that change; create /
 * update apply to every host in parallel and write the Rancher policy to a `rancher` target; read
 * reports drift; delete removes the network's own rules from every host and puts the Rancher
 * network back as it was.
 */
import { createHash } from "crypto";
import type { HostDriver } from "../deploy/hosts/driver";
import { desiredHosts } from "../deploy/hosts/rules";
import { normalizeListing } from "../deploy/hosts/sync";
import { HostOutcome, HostsTarget } from "../deploy/hosts/target";
import { RancherApplied, RancherTarget, sameRancherNetwork } from "../deploy/rancher/target";
import type { Settled } from "../deploy/target";
import { accessText } from "../analyze/access";
import { checkExpectations, formatFailure } from "../analyze/expectations";
import { compile } from "../compile";
import { InputError } from "../model/errors";
import { Expectations } from "../model/expectations";
import { Endpoint } from "../model/inventory";
import { Model, ModelInput, parseModel } from "../model/model";
import { modelWarnings } from "../compile/warnings";
import { tableName } from "../render";
import { CheckFailure, COMPUTED, containsUnknown, modelDocument, modelFailures, networkUserInputs, parseNetwork, Props, schemaFailures, sshTarget, UNKNOWN, unknownPaths, withCredentials } from "./inputs";
import { discoveredOf, discoverNetwork, NetworkDiscovery } from "./network-discovery";
import { NetworkInputs, RancherInput } from "./schema";

export type { RancherApplied };

/** Per host, what the last apply left there. No secrets. */
export interface AppliedHost {
  backend: "nftables" | "iptables";
  table: string;
  /** The content hash the host's table carries ("" when the table is missing). */
  hash: string;
  /** sha256 of the table as the host listed it after the apply (normalised). */
  live: string;
  /** Set by a refresh that found the host's rules changed or gone. */
  drift?: string;
  /**
   * Why the rules may not hold on this host although they are in place, from the last apply or
   * refresh: a bridge with ports while `net.bridge.bridge-nf-call-iptables` / `…-ip6tables` is not
   * 1, so traffic between endpoints on that bridge bypasses the rules; source NAT that rewrites
   * the endpoints' traffic to other hosts; Docker's FORWARD drop with no accept in DOCKER-USER.
   * Absent when there is none.
   * Not drift: nothing to rewrite, and nothing the project changes on the host.
   */
  warnings?: string[];
}

/** Keys the provider adds to the inputs; everything else in the outputs is an input. */
const OUTPUT_ONLY = ["applied", "rancherApplied"] as const;

function digest(text: string): string {
  return createHash("sha256").update(normalizeListing(text).trim()).digest("hex");
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}


export interface NetworkCheck {
  inputs: Props;
  failures: CheckFailure[];
}

/**
 * What the provider's `check` runs: the hosts that say `discover: docker` are read first (see
 * network-discovery.ts), then the rules are rendered with the endpoints found (`checkNetwork`).
 */
export async function checkNetworkLive(news: Props): Promise<NetworkCheck> {
  const own = { ...news };
  delete own.discovered;
  const full = withCredentials(networkUserInputs(own));
  const doc = modelDocument(full);
  if (schemaFailures(NetworkInputs, full).length > 0 || containsUnknown(doc)) return checkNetwork(own);
  let discovery: NetworkDiscovery;
  try {
    discovery = await discoverNetwork(parseNetwork(own), parseModel(doc, "network"));
  } catch (e) {
    // The model itself is wrong: checkNetwork says where.
    if (e instanceof InputError) return checkNetwork(own);
    throw e;
  }
  if (discovery.failures.length > 0) return { inputs: checkNetwork(own).inputs, failures: discovery.failures };
  return checkNetwork(discovery.discovered ? { ...own, discovered: discovery.discovered } : own);
}

/**
 * Checks and renders a network. The endpoints in `news.discovered` (what `checkNetworkLive`
 * found) count as endpoints of the model; it reads nothing from any host.
 */
export function checkNetwork(news: Props): NetworkCheck {
  const full = withCredentials(networkUserInputs(news));
  const failures = schemaFailures(NetworkInputs, full);
  const inputs: Props = { ...news };
  inputs.table = news.name === UNKNOWN ? UNKNOWN : tableName(typeof news.name === "string" ? news.name : "default");
  const doc = withDiscovered(modelDocument(full), discoveredOf(news));
  const hostNames = Array.isArray(doc.hosts) ? doc.hosts.map((h) => h.name).filter((n) => typeof n === "string" && n !== UNKNOWN) : [];
  if (failures.length > 0) return { inputs, failures };
  if (containsUnknown(doc)) {
    inputs.access = `${COMPUTED}: who may reach whom depends on values not known yet: ${unknownPaths(doc).join(", ")}`;
    inputs.rules = Array.isArray(doc.hosts) ? Object.fromEntries(hostNames.map((h) => [h, COMPUTED])) : UNKNOWN;
    return { inputs, failures };
  }
  try {
    const model = parseModel(doc, "network");
    const policySet = compile(model);
    // Before the rules: the preview's diff of this text is the connections opened (+) and closed (-).
    inputs.access = accessText(policySet);
    inputs.rules = Object.fromEntries(desiredHosts(model).map((h) => [h.name, h.text]));
    const expectations = Expectations.safeParse(full.expect ?? []);
    if (expectations.success && expectations.data.length > 0) {
      const report = checkExpectations(model, policySet, expectations.data);
      failures.push(...report.failures.map((f) => ({ property: `expect[${f.index}]`, reason: `the policy breaks an expectation: ${formatFailure(f).replace(/^✗ /, "")}` })));
    }
    // A dynamic provider cannot log to the engine: warnings travel as an input the preview shows.
    const warnings = modelWarnings(model).map((w) => `${w.path.replace(/^network\./, "")}: ${w.message}`);
    if (warnings.length > 0) inputs.warnings = warnings;
    else delete inputs.warnings;
  } catch (e) {
    if (e instanceof InputError) return { inputs, failures: modelFailures(e) };
    return { inputs, failures: [{ property: "", reason: `cannot render the rules: ${message(e)}` }] };
  }
  return { inputs, failures };
}

function inputsOf(outputs: Props): Props {
  return Object.fromEntries(Object.entries(outputs).filter(([k]) => !(OUTPUT_ONLY as readonly string[]).includes(k) && k !== "__provider"));
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function rancherAppliedOf(outputs: Props): RancherApplied | undefined {
  const r = outputs.rancherApplied;
  return typeof r === "object" && r !== null ? (r as RancherApplied) : undefined;
}

function appliedOf(outputs: Props): Record<string, AppliedHost> {
  const a = outputs.applied;
  return typeof a === "object" && a !== null ? (a as Record<string, AppliedHost>) : {};
}

export function diffNetwork(olds: Props, news: Props): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = olds.table !== news.table ? ["name"] : [];
  const before = inputsOf(olds);
  const after = inputsOf(news);
  // Warnings and access follow from the other inputs; a state written before they existed is no change.
  const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => k !== "warnings" && k !== "access"));
  const inputsChanged = [...keys].some((k) => canonical(before[k]) !== canonical(after[k]));
  const applied = appliedOf(olds);
  const drifted = Object.values(applied).some((h) => h.drift !== undefined);
  // A host that failed last time (absent from `applied`) is retried.
  const rules = typeof news.rules === "object" && news.rules !== null ? Object.keys(news.rules) : [];
  const missing = "applied" in olds && rules.some((h) => !(h in applied));
  // A Rancher write that failed last time, or a Rancher network changed by hand, is written again.
  const rancher = rancherAppliedOf(olds);
  const rancherPending = "applied" in olds && news.rancher !== undefined && (rancher === undefined || rancher.drift !== undefined);
  return { changes: inputsChanged || drifted || missing || rancherPending || replaces.length > 0, replaces, deleteBeforeReplace: false };
}

/** The model document with the endpoints a check discovered after the written ones. */
function withDiscovered(doc: ModelInput, discovered: readonly Endpoint[]): ModelInput {
  return discovered.length > 0 ? { ...doc, endpoints: [...(doc.endpoints ?? []), ...discovered] } : doc;
}

function modelOf(n: NetworkInputs, discovered: readonly Endpoint[]): Model {
  return parseModel(withDiscovered(modelDocument(n as unknown as Props), discovered), "network");
}

/** The hosts target of a network (or of the hosts named in `only`), with the endpoints its check discovered. */
function hostsTarget(n: NetworkInputs, discovered: readonly Endpoint[], driver: HostDriver | undefined, only?: readonly string[]): HostsTarget {
  const connections = n.hosts.map((h) => ({ name: h.name, target: sshTarget(h.ssh) }));
  return new HostsTarget(desiredHosts(modelOf(n, discovered), only ?? n.hosts.map((h) => h.name)), connections, driver, n.concurrency ?? 8);
}

/** The failed hosts of a report, one line each, named. */
function failureLines<T>(items: readonly Settled<T>[]): string[] {
  return items.flatMap((s) => (s.ok ? [] : [`  - ${s.error.message.startsWith("host ") ? s.error.message : `host ${s.name}: ${s.error.message}`}`]));
}

interface ApplyOutcome {
  /** Hosts that carry their rules now. */
  applied: Record<string, AppliedHost>;
  /** Every failed host with step and cause, when any failed. */
  error?: string;
}

/** Applies every host's rules; `force` names hosts to rewrite even when their hash matches. */
async function applyAll(n: NetworkInputs, discovered: readonly Endpoint[], force: ReadonlySet<string>, driver: HostDriver | undefined): Promise<ApplyOutcome> {
  if (n.hosts.length === 0) return { applied: {} };
  const report = await hostsTarget(n, discovered, driver).apply({ ...(n.rollbackTimerSec !== undefined ? { rollbackTimerSec: n.rollbackTimerSec } : {}), force });
  const failures = failureLines(report.items);
  const error = failures.length > 0
    ? `network ${n.name ?? ""}: ${failures.length} of ${report.items.length} hosts failed (the others were applied and keep their new rules):\n${failures.join("\n")}`
    : undefined;
  const applied: Record<string, AppliedHost> = {};
  const done = report.items.flatMap((s) => (s.ok ? [s.value] : [])).sort((x, y) => x.name.localeCompare(y.name));
  for (const a of done as HostOutcome[]) {
    applied[a.name] = { backend: a.backend, table: a.table, hash: a.hash, live: digest(a.liveText), ...(a.warnings ? { warnings: a.warnings } : {}) };
  }
  return { applied, ...(error ? { error } : {}) };
}

/**
 * The error for a partly applied network. With an `id` and `properties` the dynamic provider
 * server reports it as ErrorResourceInitFailed: the engine records the resource with the hosts that
 * did apply, and the next `up` retries the others (they are missing from `applied`).
 */
function partialFailure(message: string, id: string, properties: Props): Error {
  return Object.assign(new Error(message), { id, properties, reasons: [message] });
}

interface RancherOutcome {
  rancherApplied?: RancherApplied;
  error?: string;
}

function rancherTarget(n: NetworkInputs, r: RancherInput, before: RancherApplied | undefined): RancherTarget {
  const target = { url: r.url, project: r.project, network: r.network, accessKey: r.accessKey, secretKey: r.secretKey, ...(r.caPem !== undefined ? { caPem: r.caPem } : {}), ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}), ...(r.insecureAllowHttp === true ? { insecureAllowHttp: true } : {}) };
  // Rancher's own default is allow with no rules.
  return new RancherTarget(n.name ?? "", target, { defaultPolicyAction: n.defaultPolicyAction ?? "allow", policy: n.policy ?? [] }, before);
}

/** The one item of a Rancher report, or its error. */
function rancherItem<T>(items: readonly Settled<T>[]): T {
  const item = items[0];
  if (!item.ok) throw item.error;
  return item.value;
}

/** Writes the Rancher policy when the network has a rancher target; `before` is the last write. */
async function writeRancher(n: NetworkInputs, before: RancherApplied | undefined): Promise<RancherOutcome> {
  if (!n.rancher) return {};
  const same = before !== undefined && sameRancherNetwork(before, n.rancher) ? before : undefined;
  try {
    return { rancherApplied: rancherItem((await rancherTarget(n, n.rancher, same).apply()).items).applied };
  } catch (e) {
    return { ...(same ? { rancherApplied: same } : {}), error: message(e) };
  }
}

/** The outputs of an apply and, when part of it failed, the error for the engine. */
function settle(id: string, inputs: Props, hosts: ApplyOutcome, rancher: RancherOutcome, firstApply: boolean): Props {
  const outs = { ...inputs, applied: hosts.applied, ...(rancher.rancherApplied ? { rancherApplied: rancher.rancherApplied } : {}) };
  const errors = [hosts.error, rancher.error].filter((e): e is string => e !== undefined);
  if (errors.length === 0) return outs;
  const done = Object.keys(hosts.applied).length > 0 || rancher.rancherApplied !== undefined;
  throw done || !firstApply ? partialFailure(errors.join("\n"), id, outs) : new Error(errors.join("\n"));
}

export async function createNetwork(inputs: Props, driver?: HostDriver): Promise<{ id: string; outs: Props }> {
  const n = parseNetwork(inputs);
  const [hosts, rancher] = await Promise.all([applyAll(n, discoveredOf(inputs), new Set(), driver), writeRancher(n, undefined)]);
  return { id: String(inputs.table), outs: settle(String(inputs.table), inputs, hosts, rancher, true) };
}

/** Removes the network's rules from hosts that left it. */
async function removeHosts(olds: Props, keep: ReadonlySet<string>, driver: HostDriver | undefined): Promise<void> {
  const old = parseNetwork(inputsOf(olds));
  const gone = old.hosts.filter((h) => !keep.has(h.name)).map((h) => h.name);
  if (gone.length === 0) return;
  const failed = failureLines((await hostsTarget(old, discoveredOf(olds), driver, gone).destroy()).items);
  if (failed.length > 0) throw new Error(`removing the network's table from hosts no longer listed failed:\n${failed.join("\n")}`);
}

/** Puts back a Rancher network the network no longer writes to (target removed or moved). */
async function releaseRancher(olds: Props, n: NetworkInputs): Promise<void> {
  const before = rancherAppliedOf(olds);
  if (!before) return;
  if (n.rancher && sameRancherNetwork(before, n.rancher)) return;
  const old = parseNetwork(inputsOf(olds));
  if (old.rancher) rancherItem((await rancherTarget(old, old.rancher, before).destroy()).items);
}

export async function updateNetwork(id: string, olds: Props, news: Props, driver?: HostDriver): Promise<{ outs: Props }> {
  const n = parseNetwork(news);
  const before = appliedOf(olds);
  const force = new Set(Object.entries(before).filter(([, h]) => h.drift !== undefined).map(([name]) => name));
  const [hosts, rancher] = await Promise.all([applyAll(n, discoveredOf(news), force, driver), writeRancher(n, rancherAppliedOf(olds))]);
  const outs = settle(id, news, hosts, rancher, false);
  await removeHosts(olds, new Set(n.hosts.map((h) => h.name)), driver);
  await releaseRancher(olds, n);
  return { outs };
}

/** Reads every host back (and the Rancher network): drift is the deploy layer's judgement. */
export async function readNetwork(id: string, props: Props, driver?: HostDriver): Promise<{ id: string; props: Props; inputs?: Props }> {
  const n = parseNetwork(inputsOf(props));
  const before = appliedOf(props);
  const table = String(props.table);
  const report = n.hosts.length > 0 ? await hostsTarget(n, discoveredOf(props), driver).status() : { items: [] };
  const failed = failureLines(report.items);
  if (failed.length > 0) throw new Error(`network ${n.name ?? id}: reading ${failed.length} of ${n.hosts.length} hosts failed:\n${failed.join("\n")}`);
  const applied: Record<string, AppliedHost> = {};
  const rules: Record<string, unknown> = { ...((props.rules as Record<string, unknown> | undefined) ?? {}) };
  let drifted = false;
  for (const item of report.items) {
    if (!item.ok) continue;
    const s = item.value;
    const expected = before[s.name];
    const host = n.hosts.find((h) => h.name === s.name);
    const drift = !expected ? "the host was never applied" : s.state === "in sync" ? undefined : s.detail ?? s.state;
    const present = s.state !== "missing";
    applied[s.name] = {
      backend: expected?.backend ?? host?.backend ?? "nftables", table,
      hash: present ? s.hash ?? "" : "", live: expected?.live ?? "",
      ...(drift ? { drift } : {}), ...(s.warnings ? { warnings: s.warnings } : {}),
    };
    if (drift) { drifted = true; rules[s.name] = `(drifted: ${drift})`; }
  }
  const rancherApplied = n.rancher && rancherAppliedOf(props) ? rancherItem((await rancherTarget(n, n.rancher, rancherAppliedOf(props)).status()).items).applied : undefined;
  const refreshed = { ...props, applied, ...(rancherApplied ? { rancherApplied } : {}) };
  // With drift, the inputs say what the hosts carry, so the next preview shows the repair.
  return { id, props: refreshed, ...(drifted ? { inputs: { ...inputsOf(props), rules } } : {}) };
}

export async function deleteNetwork(props: Props, driver?: HostDriver): Promise<void> {
  await removeHosts(props, new Set(), driver);
  const n = parseNetwork(inputsOf(props));
  if (n.rancher) rancherItem((await rancherTarget(n, n.rancher, rancherAppliedOf(props)).destroy()).items);
}
