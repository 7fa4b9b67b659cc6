/**
 * `netpol plan / apply / destroy / status`: act on the hosts the model names, over SSH, and on
 * its cluster (`cluster: { kubeconfig, context }`) through the Kubernetes API, side by side.
 * Everything is validated (model, SSH settings, kubeconfig, cluster objects) before anything is
 * read or written; host and cluster failures are reported together.
 */
import { compile } from "../../compile";
import { InputError } from "../../model/errors";
import { Model } from "../../model/model";
import { Renderer, HostRuleset } from "../../render";
import { applyHosts, deleteHost, detectDrift, HostReadResult, mapHosts, readHost } from "../../targets/ssh";
import { ParsedArgs, single, UsageError } from "../args";
import { applyCluster, ClusterReport, destroyCluster, planCluster, PreparedCluster, prepareCluster, statusCluster } from "../cluster";
import { Command } from "../command";
import { CliIo, EXIT } from "../io";
import { loadModelFile } from "../load";
import { clearHostState, loadHostState, saveHostState, stateDirFor } from "../host-state";
import { CliHost, hostTargets } from "../targets";

interface Prepared {
  model: Model;
  hosts: { host: CliHost; ruleset: HostRuleset; text: string }[];
  cluster?: PreparedCluster;
}

const textOf = (r: HostRuleset) => r.nft ?? (r.iptables ? `${r.iptables.ipset}\n${r.iptables.v4}\n${r.iptables.v6}` : "");

/**
 * Loads and validates everything the command acts on. With neither --host nor --cluster: every
 * host and the cluster (when the model has one); otherwise only what is named.
 */
async function prepare(args: ParsedArgs, io: CliIo): Promise<Prepared> {
  const file = args.positional[0];
  const model = await loadModelFile(file, io.cwd);
  const only = args.options.host;
  const clusterFlag = args.flags.has("cluster");
  if (clusterFlag && model.cluster === undefined) {
    throw new UsageError("--cluster: the model has no cluster; add cluster: { kubeconfig: PATH, context: NAME } to it");
  }
  for (const h of only ?? []) if (!(model.hosts ?? []).some((t) => t.name === h)) throw new UsageError(`--host: no host named "${h}" in the model`);
  const selecting = only !== undefined || clusterFlag;
  const wantHosts = !selecting || only !== undefined;
  const wantCluster = model.cluster !== undefined && (!selecting || clusterFlag);
  // Collect the problems of both halves, so one run lists all of them.
  const issues: InputError["issues"] = [];
  const collect = async <T>(f: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      issues.push(...e.issues);
      return undefined;
    }
  };
  const targets = wantHosts ? await collect(() => hostTargets(model, file, io.cwd, io.env, only)) : [];
  const cluster = wantCluster ? await collect(() => prepareCluster(model, file, io.cwd, io.env)) : undefined;
  if (issues.length > 0) throw new InputError(file, issues);
  const renderer = targets !== undefined && targets.length > 0 ? new Renderer(compile(model)) : undefined;
  const hosts = renderer === undefined ? [] : (targets ?? []).map((host) => {
    const ruleset = renderer.renderHost(host.name);
    return { host, ruleset, text: textOf(ruleset) };
  });
  if (hosts.length === 0 && cluster === undefined) {
    throw new UsageError("the model names no hosts and no cluster to act on (add hosts with ssh settings, or cluster: { kubeconfig, context })");
  }
  return { model, hosts, cluster };
}

/**
 * Prints a host's warnings under its line (each names the host already). They inform and never
 * change the exit code: the rules are in place, the host's own settings keep them from applying.
 */
function printWarnings(warnings: readonly string[] | undefined, io: CliIo): void {
  for (const w of warnings ?? []) io.out(`  warning: ${w}`);
}

/** Prints a cluster report's lines; its failures go to the command's summary on stderr. */
function printCluster(report: ClusterReport | undefined, io: CliIo): void {
  if (!report) return;
  for (const l of report.lines) io.out(l);
}

function clusterFailures(report: ClusterReport | undefined): string[] {
  return (report?.failures ?? []).map((f) => `  - ${f}`);
}

function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const count = new Map<string, number>();
  for (const l of before.split("\n")) count.set(l, (count.get(l) ?? 0) + 1);
  const added: string[] = [];
  for (const l of after.split("\n")) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added.push(l);
  }
  return { added, removed: [...count].flatMap(([l, n]) => Array<string>(n).fill(l)) };
}

const hostOption = { host: { value: true, repeat: true }, cluster: {} };
const fail = (failed: number, total: number) => (failed > 0 ? `, ${failed} of ${total} failed` : "");

const CLUSTER_HELP = `
With a cluster in the model (cluster: { kubeconfig: PATH, context: NAME }; a relative PATH is
relative to the model file; without kubeconfig, KUBECONFIG or ~/.kube/config), the command also
acts on it: the NetworkPolicies (extensions/v1beta1 converted, namespace DefaultDeny as a
default-deny-ingress policy) and the Calico documents as projectcalico.org/v3 objects, as
"netpol convert" prints them. Objects are written by server-side apply with field manager
pulumi-netpolicy and carry the label app.kubernetes.io/managed-by=pulumi-netpolicy; an object
without that label is not ours and is never changed or deleted.`;

const SELECT_HELP = `  --host H   only this host (repeatable; then the cluster only with --cluster)
  --cluster  only the cluster (with --host: the cluster and those hosts)`;

function summary(verb: string, hostCount: number, hostFailed: number, cluster: PreparedCluster | undefined, report: ClusterReport | undefined, clusterWhat: string): string {
  const hostsPart = `${verb}: ${hostCount} host(s)${fail(hostFailed, hostCount)}`;
  if (!cluster || !report) return hostsPart;
  return `${hostCount > 0 ? `${hostsPart};` : `${verb}:`} cluster: ${cluster.objects.length} object(s), ${clusterWhat}${report.failures.length > 0 ? `, ${report.failures.length} failed` : ""}`;
}

export const planCommand: Command = {
  name: "plan",
  summary: "show what an apply would change, per host and per cluster object",
  help: `Usage: netpol plan FILE [--host H …] [--cluster] [--diff]

Reads each host's current rules over SSH (nothing is written) and prints per host "up to date",
or the number of lines added and removed. With --diff, the lines themselves (+ added, - removed).
For each cluster object: "create", "update" with the changed lines of its YAML (live → model),
"up to date", or "conflict" when an object of that name exists that netpol does not manage.
${CLUSTER_HELP}

${SELECT_HELP}
  --diff     print the changed lines (hosts), the whole object (cluster objects to create)

Exits 1 when a host or object cannot be read, or an object is in conflict.`,
  options: { ...hostOption, diff: {} },
  positional: 1,
  async run(args, io) {
    const { hosts, cluster } = await prepare(args, io);
    const [results, report] = await Promise.all([
      mapHosts(hosts, async ({ host, ruleset, text }) => {
        const live = await readHost(host.target, host.name, ruleset.backend, ruleset.table);
        const { warnings } = live;
        if (live.present && live.hash === ruleset.hash) return { status: "up to date" as const, warnings };
        const state = live.present ? await loadHostState(host.target, host.name, ruleset.table) : {};
        return { status: live.present ? ("update" as const) : ("create" as const), warnings, ...lineDiff(state.rendered ?? "", text) };
      }),
      cluster ? planCluster(cluster, { diff: args.flags.has("diff") }) : undefined,
    ]);
    let failed = 0;
    results.forEach((r, i) => {
      const name = hosts[i].host.name;
      if (!r.ok) { failed++; io.out(`${name}: cannot read the host: ${r.error.message}`); return; }
      const v = r.value;
      if (v.status === "up to date") { io.out(`${name}: up to date`); printWarnings(v.warnings, io); return; }
      const added = v.added.filter((l) => l.trim() !== "");
      const removed = v.removed.filter((l) => l.trim() !== "");
      io.out(`${name}: ${v.status} — ${added.length} line(s) added, ${removed.length} removed`);
      printWarnings(v.warnings, io);
      if (args.flags.has("diff")) for (const l of [...removed.map((x) => `  - ${x}`), ...added.map((x) => `  + ${x}`)]) io.out(l);
    });
    printCluster(report, io);
    io.out(summary("plan", hosts.length, failed, cluster, report, `${report?.count ?? 0} to change`));
    const problems = clusterFailures(report);
    if (problems.length > 0) io.err(`plan: the cluster needs attention before apply:\n${problems.join("\n")}`);
    return failed > 0 || problems.length > 0 ? EXIT.invalid : EXIT.ok;
  },
};

export const applyCommand: Command = {
  name: "apply",
  summary: "apply each host's ruleset over SSH (atomic, with rollback) and the cluster's objects",
  help: `Usage: netpol apply FILE [--host H …] [--cluster] [--rollback-timer SEC] [--concurrency N] [--force] [--adopt]

For every host, in parallel: checks the new rules (nft -c), saves the current table, arms a
host-side timer that restores it, applies in one transaction, confirms over a new SSH connection,
then disarms. A host that already carries the desired rules is not written to. When some hosts
fail, the others keep their new rules and the error lists every failed host; run apply again.
A "warning:" line under a host says its rules do not cover everything they seem to: a bridge
with ports while net.bridge.bridge-nf-call-iptables (or -ip6tables) is not 1, so traffic between
endpoints on that bridge is not filtered. Warnings do not change the exit code; nothing on the
host besides the network's own rules is changed.

Cluster objects that are missing or differ are server-side applied (field manager
pulumi-netpolicy; fields of ours edited by hand are taken back). Every object is read first:
when one exists without the managed-by label, or a namespace to annotate is missing, nothing
is written to the cluster. Allow policies are written before namespace isolation.
${CLUSTER_HELP}

${SELECT_HELP}
  --rollback-timer S   seconds before an unconfirmed apply restores itself (default 20)
  --concurrency N      hosts at once (default 16)
  --force              rewrite hosts even when their hash matches (repairs hand edits)
  --adopt              take over cluster objects of the same name that netpol did not create`,
  options: { ...hostOption, "rollback-timer": { value: true }, concurrency: { value: true }, force: {}, adopt: {} },
  positional: 1,
  async run(args, io) {
    const timer = Number(single(args, "rollback-timer") ?? 20);
    const concurrency = Number(single(args, "concurrency") ?? 16);
    if (!Number.isInteger(timer) || timer < 5 || timer > 3600) throw new UsageError("--rollback-timer must be 5-3600 seconds");
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError("--concurrency must be 1-256");
    const { model, hosts, cluster } = await prepare(args, io);
    // Each host is applied with its own state folder, so hosts sharing a filesystem never collide.
    const [settled, report] = await Promise.all([
      mapHosts(hosts, async ({ host, ruleset, text }) => {
        const r = await applyHosts([{ target: host.target, ruleset }], {
          rollbackTimerSec: timer, stateDir: stateDirFor(host.name), concurrency: 1, force: args.flags.has("force"),
        });
        if (r.error || r.applied.length === 0) throw r.failures[0] ?? r.error;
        const result = r.applied[0];
        if (result.changed) await saveHostState(host.target, host.name, ruleset.table, text, result.liveText);
        return result;
      }, { concurrency }),
      cluster ? applyCluster(cluster, model, { adopt: args.flags.has("adopt") }) : undefined,
    ]);
    let changed = 0;
    const failures: string[] = [];
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      if (!s.ok) { failures.push(`  - ${s.error.message}`); io.out(`${name}: FAILED`); return; }
      if (s.value.changed) changed++;
      io.out(`${name}: ${s.value.changed ? "applied" : "up to date"} (${hosts[i].ruleset.backend}, ${hosts[i].ruleset.table}, ${s.value.hash.slice(0, 12)})`);
      printWarnings(s.value.warnings, io);
    });
    printCluster(report, io);
    const hostsPart = `apply: ${hosts.length} host(s), ${changed} changed, ${hosts.length - changed - failures.length} up to date${fail(failures.length, hosts.length)}`;
    io.out(cluster && report
      ? `${hosts.length > 0 ? `${hostsPart};` : "apply:"} cluster: ${cluster.objects.length} object(s), ${report.count} written${report.failures.length > 0 ? `, ${report.failures.length} failed` : ""}`
      : hostsPart);
    const problems = [...failures, ...clusterFailures(report)];
    if (problems.length > 0) {
      const where = [failures.length > 0 ? `${failures.length} of ${hosts.length} host(s)` : "", report && report.failures.length > 0 ? "the cluster" : ""].filter((x) => x !== "").join(" and ");
      io.err(`apply failed on ${where}; what succeeded keeps its new state. Fix the cause and run apply again:\n${problems.join("\n")}`);
      return EXIT.invalid;
    }
    return EXIT.ok;
  },
};

export const destroyCommand: Command = {
  name: "destroy",
  summary: "remove the project's own table from every host and its objects from the cluster",
  help: `Usage: netpol destroy FILE [--host H …] [--cluster]

Deletes the network's own table (nftables) or chains, hook and sets (iptables) from each host,
with the files the project keeps there. Other tables and chains are never touched.

In the cluster, deletes the objects the model names that carry the label
app.kubernetes.io/managed-by=pulumi-netpolicy (an object already gone is fine); objects without
it are left in place and reported. A namespace's isolation annotation is removed by giving up
netpol's field manager; the namespace itself stays.
${CLUSTER_HELP}

${SELECT_HELP}`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const { model, hosts, cluster } = await prepare(args, io);
    const [settled, report] = await Promise.all([
      mapHosts(hosts, async ({ host, ruleset }) => {
        const r = await deleteHost(host.target, host.name, ruleset.backend, ruleset.table, { stateDir: stateDirFor(host.name) });
        await clearHostState(host.target, host.name, ruleset.table);
        return r;
      }),
      cluster ? destroyCluster(cluster, model) : undefined,
    ]);
    let failed = 0;
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      if (!s.ok) { failed++; io.err(`${name}: ${s.error.message}`); return; }
      io.out(`${name}: ${s.value.deleted ? "removed" : "nothing to remove"}`);
    });
    printCluster(report, io);
    io.out(summary("destroy", hosts.length, failed, cluster, report, `${report?.count ?? 0} removed`));
    const problems = clusterFailures(report);
    if (problems.length > 0) io.err(`destroy failed on the cluster:\n${problems.join("\n")}`);
    return failed > 0 || problems.length > 0 ? EXIT.invalid : EXIT.ok;
  },
};

/** One line: does the host carry what the model renders, unchanged? */
async function syncState(host: CliHost, ruleset: HostRuleset, live: HostReadResult): Promise<string> {
  if (!live.present) return "missing: no rules of this network on the host; run apply";
  if (live.hash !== ruleset.hash) return `out of date: the host carries ${live.hash?.slice(0, 12) ?? "(no hash)"}, the model renders ${ruleset.hash.slice(0, 12)}; run apply`;
  const state = await loadHostState(host.target, host.name, ruleset.table);
  if (state.live === undefined) return "in sync (hash matches; no listing recorded to compare content)";
  const drift = detectDrift({ hash: ruleset.hash, liveText: state.live }, live);
  return drift.drifted ? `drift: ${drift.reason}; run apply --force to repair` : "in sync";
}

export const statusCommand: Command = {
  name: "status",
  summary: "report per host and per cluster object whether it matches the model (drift)",
  help: `Usage: netpol status FILE [--host H …] [--cluster]

Reads each host's rules and reports "in sync", "out of date" (the model changed: run apply),
"missing" (never applied or removed), or "drift" (edited by hand: run apply --force to repair).
Each cluster object is "in sync", "missing", "drift" (changed by another field manager, e.g.
kubectl edit: apply repairs it), "out of date" (the model changed), or "not managed by
pulumi-netpolicy" (an object of that name that netpol did not create).
A "warning:" line under a host reports a bridge whose traffic bypasses the rules (see apply).
Exits 1 when any host or object is not in sync or cannot be read (warnings do not count).
${CLUSTER_HELP}

${SELECT_HELP}`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const { hosts, cluster } = await prepare(args, io);
    const [settled, report] = await Promise.all([
      mapHosts(hosts, async ({ host, ruleset }) => {
        const live = await readHost(host.target, host.name, ruleset.backend, ruleset.table);
        return { text: await syncState(host, ruleset, live), warnings: live.warnings };
      }),
      cluster ? statusCluster(cluster) : undefined,
    ]);
    let bad = 0;
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      const text = s.ok ? s.value.text : `cannot read the host: ${s.error.message}`;
      if (!text.startsWith("in sync")) bad++;
      io.out(`${name}: ${text}`);
      if (s.ok) printWarnings(s.value.warnings, io);
    });
    printCluster(report, io);
    const problems = clusterFailures(report);
    if (problems.length > 0) io.err(`status: the cluster could not be read completely:\n${problems.join("\n")}`);
    return bad > 0 || (report?.count ?? 0) > 0 || problems.length > 0 ? EXIT.invalid : EXIT.ok;
  },
};
