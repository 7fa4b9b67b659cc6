/**
 * What the Network provider does, loaded at call time by the serializable provider object in
 * network.ts. check validates and renders (the rendered rules per host become the `rules` input,
 * so a preview diff shows the lines that change); create / update apply to every host in parallel
 * and write the Rancher policy to a `rancher` target; read reports drift; delete removes the
 * network's own table from every host and puts the Rancher network back as it was.
 */
import { createHash } from "crypto";
import { compile } from "../compile";
import { InputError } from "../model/errors";
import { parseModel } from "../model/model";
import { renderAll, tableName } from "../render";
import type { HostRuleset } from "../render";
import type { HostReadResult } from "../targets/ssh";
import { CheckFailure, COMPUTED, containsUnknown, hostByName, modelDocument, modelFailures, parseNetwork, Props, rulesText, schemaFailures, sshTarget, UNKNOWN, withCredentials } from "./inputs";
import { applyRancher, RancherApplied, readRancher, restoreRancher, sameRancherNetwork } from "./rancher-network";
import { NetworkInputs } from "./schema";
import { hostTargets } from "./targets";

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
   * 1, so traffic between endpoints on that bridge bypasses the rules. Absent when there is none.
   * Not drift: nothing to rewrite, and nothing the project changes on the host.
   */
  warnings?: string[];
}

/** Keys the provider adds to the inputs; everything else in the outputs is an input. */
const OUTPUT_ONLY = ["applied", "rancherApplied"] as const;

function digest(text: string): string {
  return createHash("sha256").update(text.replace(/packets \d+ bytes \d+/g, "packets 0 bytes 0").trim()).digest("hex");
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Keys the provider itself computes; they never come from the user. */
const COMPUTED_KEYS = new Set(["__provider", "table", "rules", "applied", "rancherApplied"]);

function userInputs(p: Props): Props {
  return Object.fromEntries(Object.entries(p).filter(([k]) => !COMPUTED_KEYS.has(k)));
}

export function checkNetwork(news: Props): { inputs: Props; failures: CheckFailure[] } {
  const full = withCredentials(userInputs(news));
  const failures = schemaFailures(NetworkInputs, full);
  const inputs: Props = { ...news };
  inputs.table = news.name === UNKNOWN ? UNKNOWN : tableName(typeof news.name === "string" ? news.name : "default");
  const doc = modelDocument(full);
  const hostNames = Array.isArray(doc.hosts) ? doc.hosts.map((h) => h.name).filter((n) => typeof n === "string" && n !== UNKNOWN) : [];
  if (failures.length > 0) return { inputs, failures };
  if (containsUnknown(doc)) {
    inputs.rules = Array.isArray(doc.hosts) ? Object.fromEntries(hostNames.map((h) => [h, COMPUTED])) : UNKNOWN;
    return { inputs, failures };
  }
  try {
    const rulesets = renderAll(compile(parseModel(doc, "network")));
    inputs.rules = Object.fromEntries(rulesets.map((r) => [r.host, rulesText(r)]));
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
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
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

function render(n: NetworkInputs): HostRuleset[] {
  return renderAll(compile(parseModel(modelDocument(n as unknown as Props), "network")));
}

interface ApplyOutcome {
  /** Hosts that carry their rules now. */
  applied: Record<string, AppliedHost>;
  /** Every failed host with step and cause, when any failed. */
  error?: string;
}

/** Applies every host's rules; `force` names hosts to rewrite even when their hash matches. */
async function applyAll(n: NetworkInputs, force: ReadonlySet<string>): Promise<ApplyOutcome> {
  if (n.hosts.length === 0) return { applied: {} };
  const hosts = hostByName(n);
  const rulesets = render(n);
  const ssh = hostTargets();
  const options = { ...(n.rollbackTimerSec !== undefined ? { rollbackTimerSec: n.rollbackTimerSec } : {}), concurrency: n.concurrency ?? 8 };
  const plain = rulesets.filter((r) => !force.has(r.host));
  const forced = rulesets.filter((r) => force.has(r.host));
  const item = (r: HostRuleset) => {
    const h = hosts.get(r.host);
    if (!h) throw new Error(`host ${r.host}: not in hosts`);
    return { target: sshTarget(h.ssh), ruleset: r };
  };
  const reports = await Promise.all([
    ssh.applyHosts(plain.map(item), options),
    forced.length > 0 ? ssh.applyHosts(forced.map(item), { ...options, force: true }) : Promise.resolve({ applied: [], failures: [] }),
  ]);
  const failures = reports.flatMap((r) => r.failures);
  const error = failures.length > 0
    ? `network ${n.name ?? ""}: ${failures.length} of ${rulesets.length} hosts failed (the others were applied and keep their new rules):\n${failures.map((f) => `  - ${f.message}`).join("\n")}`
    : undefined;
  const byHost = new Map(rulesets.map((r) => [r.host, r]));
  const applied: Record<string, AppliedHost> = {};
  for (const a of reports.flatMap((r) => r.applied).sort((x, y) => x.host.localeCompare(y.host))) {
    const r = byHost.get(a.host);
    if (r) applied[a.host] = { backend: r.backend, table: r.table, hash: a.hash, live: digest(a.liveText), ...(a.warnings ? { warnings: a.warnings } : {}) };
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

/** Writes the Rancher policy when the network has a rancher target; `before` is the last write. */
async function writeRancher(n: NetworkInputs, before: RancherApplied | undefined): Promise<RancherOutcome> {
  if (!n.rancher) return {};
  const same = before !== undefined && sameRancherNetwork(before, n.rancher) ? before : undefined;
  try {
    return { rancherApplied: await applyRancher(n, n.rancher, same) };
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

export async function createNetwork(inputs: Props): Promise<{ id: string; outs: Props }> {
  const n = parseNetwork(inputs);
  const [hosts, rancher] = await Promise.all([applyAll(n, new Set()), writeRancher(n, undefined)]);
  return { id: String(inputs.table), outs: settle(String(inputs.table), inputs, hosts, rancher, true) };
}

/** Removes the network's table from hosts that left it. */
async function removeHosts(olds: Props, keep: ReadonlySet<string>): Promise<void> {
  const old = parseNetwork(inputsOf(olds));
  const applied = appliedOf(olds);
  const gone = old.hosts.filter((h) => !keep.has(h.name));
  const ssh = hostTargets();
  const results = await Promise.allSettled(gone.map((h) => ssh.deleteHost(sshTarget(h.ssh), h.name, applied[h.name]?.backend ?? h.backend ?? "nftables", String(olds.table))));
  const failed = results.map((r, i) => (r.status === "rejected" ? `  - host ${gone[i].name}: ${message(r.reason)}` : "")).filter(Boolean);
  if (failed.length > 0) throw new Error(`removing the network's table from hosts no longer listed failed:\n${failed.join("\n")}`);
}

/** Puts back a Rancher network the network no longer writes to (target removed or moved). */
async function releaseRancher(olds: Props, n: NetworkInputs): Promise<void> {
  const before = rancherAppliedOf(olds);
  if (!before) return;
  if (n.rancher && sameRancherNetwork(before, n.rancher)) return;
  const old = parseNetwork(inputsOf(olds));
  if (old.rancher) await restoreRancher(old.name ?? "", old.rancher, before);
}

export async function updateNetwork(id: string, olds: Props, news: Props): Promise<{ outs: Props }> {
  const n = parseNetwork(news);
  const before = appliedOf(olds);
  const force = new Set(Object.entries(before).filter(([, h]) => h.drift !== undefined).map(([name]) => name));
  const [hosts, rancher] = await Promise.all([applyAll(n, force), writeRancher(n, rancherAppliedOf(olds))]);
  const outs = settle(id, news, hosts, rancher, false);
  await removeHosts(olds, new Set(n.hosts.map((h) => h.name)));
  await releaseRancher(olds, n);
  return { outs };
}

function driftOf(expected: AppliedHost | undefined, read: HostReadResult): string | undefined {
  if (!expected) return "the host was never applied";
  if (!read.present) return "the rules are gone from the host";
  if (read.hash !== expected.hash) return `the host carries hash ${read.hash ?? "(none)"}, expected ${expected.hash}`;
  if (digest(read.text ?? "") !== expected.live) return "the rules were edited on the host";
  return undefined;
}

export async function readNetwork(id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
  const n = parseNetwork(inputsOf(props));
  const before = appliedOf(props);
  const ssh = hostTargets();
  const table = String(props.table);
  const results = await Promise.allSettled(n.hosts.map((h) => ssh.readHost(sshTarget(h.ssh), h.name, before[h.name]?.backend ?? h.backend ?? "nftables", table)));
  const failed = results.map((r, i) => (r.status === "rejected" ? `  - host ${n.hosts[i].name}: ${message(r.reason)}` : "")).filter(Boolean);
  if (failed.length > 0) throw new Error(`network ${n.name ?? id}: reading ${failed.length} of ${n.hosts.length} hosts failed:\n${failed.join("\n")}`);
  const applied: Record<string, AppliedHost> = {};
  const rules: Record<string, unknown> = { ...((props.rules as Record<string, unknown> | undefined) ?? {}) };
  let drifted = false;
  n.hosts.forEach((h, i) => {
    const r = results[i];
    if (r.status !== "fulfilled") return;
    const expected = before[h.name];
    const drift = driftOf(expected, r.value);
    const warnings = r.value.warnings;
    applied[h.name] = { backend: expected?.backend ?? h.backend ?? "nftables", table, hash: r.value.present ? r.value.hash ?? "" : "", live: expected?.live ?? "", ...(drift ? { drift } : {}), ...(warnings ? { warnings } : {}) };
    if (drift) { drifted = true; rules[h.name] = `(drifted: ${drift})`; }
  });
  const rancherApplied = n.rancher ? await readRancher(n, n.rancher, rancherAppliedOf(props)) : undefined;
  const refreshed = { ...props, applied, ...(rancherApplied ? { rancherApplied } : {}) };
  // With drift, the inputs say what the hosts carry, so the next preview shows the repair.
  return { id, props: refreshed, ...(drifted ? { inputs: { ...inputsOf(props), rules } } : {}) };
}

export async function deleteNetwork(props: Props): Promise<void> {
  await removeHosts(props, new Set());
  const n = parseNetwork(inputsOf(props));
  if (n.rancher) await restoreRancher(n.name ?? "", n.rancher, rancherAppliedOf(props));
}
