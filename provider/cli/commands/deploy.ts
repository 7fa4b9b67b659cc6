/**
 * `netpol plan / apply / destroy / status`: one call of the deploy layer on every target the
 * model names (its hosts over SSH, its cluster through the Kubernetes API), side by side, and the
 * reports as text. Host and cluster failures are reported together.
 */
import { compile } from "../../compile";
import type { HostPlan } from "../../deploy/hosts/target";
import { countChanges, formatDiff } from "../../deploy/line-diff";
import { targetsOf } from "../../deploy/registry";
import { ObjectOutcome, ObjectStatus, PlannedChange, Settled, Target, TargetReport } from "../../deploy/target";
import { ParsedArgs, single, UsageError } from "../args";
import { Command } from "../command";
import { accessChangeLines } from "../access-change";
import { deployInput } from "../deploy-input";
import { CliIo, EXIT } from "../io";

const hostOption = { host: { value: true, repeat: true }, cluster: {}, rancher: {} };

const CLUSTER_HELP = `
With a cluster in the model (cluster: { kubeconfig: PATH, context: NAME }; a relative PATH is
relative to the model file; without kubeconfig, KUBECONFIG or ~/.kube/config), the command also
acts on it: the NetworkPolicies (extensions/v1beta1 converted, namespace DefaultDeny as a
default-deny-ingress policy) and the Calico documents as projectcalico.org/v3 objects, as
"netpol convert" prints them. Objects are written by server-side apply with field manager
pulumi-netpolicy and carry the label app.kubernetes.io/managed-by=pulumi-netpolicy; an object
without that label is not ours and is never changed or deleted.`;

const RANCHER_HELP = `
With a Rancher network in the model (rancher: { url, project, network, accessKeyEnv,
secretKeyEnv }; the API key pair is read from those environment variables), the command also
acts on it: the model's network (defaultPolicyAction and policy) is written there with PUT
/v2-beta/projects/{project}/networks/{network}, every other field of the network left as Rancher
has it. destroy puts back Rancher's default (allow, no rules).`;

const SELECT_HELP = `  --host H   only this host (repeatable; then the cluster only with --cluster)
  --cluster  only the cluster (with --host: the cluster and those hosts)
  --rancher  only the Rancher network (combines with --host and --cluster likewise)`;

/** Hosts print one line each; every other target its title, then one indented line per object. */
const indentOf = (r: TargetReport<unknown>) => (r.kind === "hosts" ? "" : "  ");

/** Lines of one report; `line` formats one object, `failedLine` one that failed (undefined: nothing on stdout). */
function reportLines<T>(r: TargetReport<T>, line: (value: T, indent: string) => string[], failedLine: (s: { name: string; error: Error }) => string | undefined): string[] {
  const indent = indentOf(r);
  const out = r.kind === "hosts" ? [] : [r.title];
  if (r.refused) return [...out, `${indent}nothing written: ${r.refused.length} object(s) refused (see below)`];
  if (r.failure) return [...out, ...r.items.flatMap((s) => (s.ok ? line(s.value, indent) : [])), `${indent}FAILED: the ${r.kind} cannot be used (see below)`];
  for (const s of r.items) {
    const failed = s.ok ? undefined : failedLine(s);
    out.push(...(s.ok ? line(s.value, indent) : failed === undefined ? [] : [`${indent}${failed}`]));
  }
  return out;
}

/** One line per problem of a report, for stderr. */
function problems(r: TargetReport<unknown>): string[] {
  if (r.failure) return [`${r.title}: ${r.failure}`];
  if (r.refused) return r.refused;
  return r.items.flatMap((s) => (s.ok ? [] : [s.error.message]));
}

const failedCount = (r: TargetReport<unknown>) => (r.refused ? r.refused.length : r.items.filter((s) => !s.ok).length);

function warningLines(w: readonly string[] | undefined, indent: string): string[] {
  return (w ?? []).map((x) => `${indent}  warning: ${x}`);
}

/** `plan: 3 host(s), 1 of 3 failed; cluster: 4 object(s), 2 to change` */
function summary(verb: string, reports: readonly TargetReport<unknown>[], what: (r: TargetReport<unknown>) => string): string {
  const parts = reports.map((r) => {
    const failed = failedCount(r);
    if (r.kind === "hosts") return `${r.items.length} host(s)${what(r)}${failed > 0 ? `, ${failed} of ${r.items.length} failed` : ""}`;
    return `${r.kind}: ${r.items.length} object(s)${what(r)}${failed > 0 ? `, ${failed} failed` : ""}`;
  });
  return `${verb}: ${parts.join("; ")}`;
}

/** How a sentence names a target: `the cluster`, `the rancher network`. */
const theTarget = (kind: TargetReport<unknown>["kind"]) => (kind === "rancher" ? "the rancher network" : `the ${kind}`);

/** The targets other than hosts that have problems (`the cluster`, `the rancher network`); a plan conflict is the cluster's. */
function nonHosts(reports: readonly TargetReport<unknown>[]): string {
  const kinds = reports.filter((r) => r.kind !== "hosts" && problems(r).length > 0).map((r) => theTarget(r.kind));
  return kinds.length > 0 ? [...new Set(kinds)].join(" and ") : "the cluster";
}

const count = (r: TargetReport<unknown>, f: (v: never) => boolean) => r.items.filter((s) => s.ok && f(s.value as never)).length;

async function run<T>(targets: Target[], call: (t: Target) => Promise<TargetReport<T>>): Promise<TargetReport<T>[]> {
  return Promise.all(targets.map(call));
}

function planLine(diff: boolean) {
  return (c: PlannedChange, indent: string): string[] => {
    const drift = c.drift ? [`${indent}  drift: ${c.drift.reason}${c.drift.by ? ` (by ${c.drift.by.join(", ")})` : ""}${c.note && c.change === "none" ? `; ${c.note}` : ""}`] : [];
    const body = (lines: string[]) => lines.map((l) => `${indent}    ${l}`);
    const n = countChanges(c.diff);
    switch (c.change) {
      case "none": return [`${indent}${c.name}: up to date`, ...warningLines(c.warnings, indent), ...drift];
      case "create":
        if (indent === "") return [`${indent}${c.name}: create — ${n.added} line(s) added, ${n.removed} removed`, ...warningLines(c.warnings, indent), ...(diff ? body(formatDiff(c.diff)) : [])];
        return [`${indent}${c.name}: create`, ...warningLines(c.warnings, indent), ...(diff ? body(c.diff.map((l) => `+ ${l.text}`)) : [])];
      case "update": {
        const by = c.drift?.by ? ` (edited by ${c.drift.by.join(", ")})` : "";
        const lines = indent === "" && !diff ? [] : body(formatDiff(c.diff));
        return [`${indent}${c.name}: update — ${n.added} line(s) added, ${n.removed} removed${by}`, ...warningLines(c.warnings, indent), ...(indent === "" ? drift : []), ...lines];
      }
      case "conflict": return [`${indent}${c.name}: conflict — ${c.note ?? "not ours"}`, ...body(formatDiff(c.diff))];
      default: {
        const never: never = c.change;
        throw new Error(`unknown change ${String(never)}`);
      }
    }
  };
}

export const planCommand: Command = {
  name: "plan",
  summary: "show what an apply would change, per host and per cluster object",
  help: `Usage: netpol plan FILE [--host H …] [--cluster] [--rancher] [--diff]

Reads each host's current rules over SSH (nothing is written). First, who may now reach whom:
every change against the policy the hosts' records say the last apply enforced, in the lines of
"netpol diff" (hosts whose records differ get a section each; hosts with no recorded policy get
the whole of who may reach whom after the apply). Then per host "up to date", or the number of
lines added and removed. With --diff, the lines themselves (+ added, - removed).
For each cluster object: "create", "update" with the changed lines of its YAML (live → model),
"up to date", or "conflict" when an object of that name exists that netpol does not manage.
${CLUSTER_HELP}
${RANCHER_HELP}

${SELECT_HELP}
  --diff     print the changed lines (hosts), the whole object (cluster objects to create)

Exits 1 when a host or object cannot be read, or an object is in conflict.`,
  options: { ...hostOption, diff: {} },
  positional: 1,
  async run(args, io) {
    const input = await deployInput(args, io, { warnings: true });
    const reports = await run(targetsOf(input), (t) => t.plan());
    // The hosts target plans HostPlan items: each carries the policy its record names.
    const recorded = (p: HostPlan) => ({ host: p.name, ...(p.lastPolicy !== undefined ? { policy: p.lastPolicy } : {}) });
    const read = reports.filter((r) => r.kind === "hosts").flatMap((r) => r.items.flatMap((s) => (s.ok ? [recorded(s.value)] : [])));
    if (read.length > 0) for (const l of accessChangeLines(compile(input.model), read)) io.out(l);
    // A cluster object also fails when the server's dry run refuses it, not only when it cannot be read.
    for (const r of reports) for (const l of reportLines(r, planLine(args.flags.has("diff")), (s) => `${s.name}: ${r.kind === "hosts" ? "cannot read the host" : "FAILED"}: ${s.error.message}`)) io.out(l);
    // A conflict is a problem for apply: list it with the failures.
    const conflicts = reports.flatMap((r) => r.items.flatMap((s) => (s.ok && s.value.change === "conflict" ? [`${s.value.name}: ${s.value.note ?? ""}`] : [])));
    io.out(summary("plan", reports, (r) => (r.kind === "hosts" ? "" : `, ${count(r, (v: PlannedChange) => v.change === "create" || v.change === "update")} to change`)));
    const hostFailures = reports.filter((r) => r.kind === "hosts").some((r) => failedCount(r) > 0);
    const others = [...reports.filter((r) => r.kind !== "hosts").flatMap(problems), ...conflicts].map((p) => `  - ${p}`);
    if (others.length > 0) io.err(`plan: ${nonHosts(reports)} needs attention before apply:\n${others.join("\n")}`);
    return hostFailures || others.length > 0 ? EXIT.invalid : EXIT.ok;
  },
};

export const applyCommand: Command = {
  name: "apply",
  summary: "apply each host's ruleset over SSH (atomic, with rollback) and the cluster's objects",
  help: `Usage: netpol apply FILE [--host H …] [--cluster] [--rancher] [--rollback-timer SEC] [--concurrency N] [--force] [--adopt]

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
${RANCHER_HELP}

${SELECT_HELP}
  --rollback-timer S   seconds before an unconfirmed apply restores itself (default 20)
  --concurrency N      hosts at once, 1-256 (default 8, as a Network's concurrency)
  --force              rewrite hosts even when their hash matches (repairs hand edits)
  --adopt              take over cluster objects of the same name that netpol did not create`,
  options: { ...hostOption, "rollback-timer": { value: true }, concurrency: { value: true }, force: {}, adopt: {} },
  positional: 1,
  async run(args, io) {
    const timer = Number(single(args, "rollback-timer") ?? 20);
    const concurrency = Number(single(args, "concurrency") ?? 8);
    if (!Number.isInteger(timer) || timer < 5 || timer > 3600) throw new UsageError("--rollback-timer must be 5-3600 seconds");
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError("--concurrency must be 1-256");
    const targets = targetsOf(await deployInput(args, io, { concurrency, warnings: true }));
    const reports = await run(targets, (t) => t.apply({ rollbackTimerSec: timer, concurrency, force: t.kind === "hosts" && args.flags.has("force"), adopt: args.flags.has("adopt") }));
    for (const r of reports) {
      const line = (o: ObjectOutcome & { backend?: string; table?: string; hash?: string }, indent: string) => (r.kind === "hosts"
        ? [`${o.name}: ${o.outcome} (${o.backend}, ${o.table}, ${(o.hash ?? "").slice(0, 12)})`, ...warningLines(o.warnings, indent)]
        : [`${indent}${o.name}: ${o.outcome}`]);
      for (const l of reportLines(r, line, (s) => `${s.name}: FAILED`)) io.out(l);
    }
    io.out(summary("apply", reports, (r) => {
      const changed = count(r, (v: ObjectOutcome) => v.changed);
      return r.kind === "hosts" ? `, ${changed} changed, ${count(r, (v: ObjectOutcome) => !v.changed)} up to date` : `, ${changed} written`;
    }));
    const failed = reports.filter((r) => problems(r).length > 0);
    if (failed.length > 0) {
      const where = failed.map((r) => (r.kind === "hosts" ? `${failedCount(r)} of ${r.items.length} host(s)` : theTarget(r.kind))).join(" and ");
      io.err(`apply failed on ${where}; what succeeded keeps its new state. Fix the cause and run apply again:\n${failed.flatMap(problems).map((p) => `  - ${p}`).join("\n")}`);
      return EXIT.invalid;
    }
    return EXIT.ok;
  },
};

export const destroyCommand: Command = {
  name: "destroy",
  summary: "remove the project's own table from every host and its objects from the cluster",
  help: `Usage: netpol destroy FILE [--host H …] [--cluster] [--rancher]

Deletes the network's own table (nftables) or chains, hook and sets (iptables) from each host,
with the files the project keeps there. Other tables and chains are never touched.

In the cluster, deletes the objects the model names that carry the label
app.kubernetes.io/managed-by=pulumi-netpolicy (an object already gone is fine); objects without
it are left in place and reported. A namespace's isolation annotation is removed by giving up
netpol's field manager; the namespace itself stays.
${CLUSTER_HELP}
${RANCHER_HELP}

${SELECT_HELP}`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const reports = await run(targetsOf(await deployInput(args, io)), (t) => t.destroy());
    for (const r of reports) {
      // A host that failed is told on stderr with its cause; a cluster object gets a FAILED line.
      if (r.kind === "hosts") for (const s of r.items) if (!s.ok) io.err(`${s.name}: ${s.error.message}`);
      for (const l of reportLines(r, (o: ObjectOutcome, indent) => [`${indent}${o.name}: ${o.outcome}`, ...warningLines(o.warnings, indent)], (s) => (r.kind === "hosts" ? undefined : `${s.name}: FAILED`))) io.out(l);
    }
    io.out(summary("destroy", reports, (r) => (r.kind === "hosts" ? "" : `, ${count(r, (v: ObjectOutcome) => v.changed)} removed`)));
    const others = reports.filter((r) => r.kind !== "hosts").flatMap(problems).map((p) => `  - ${p}`);
    if (others.length > 0) io.err(`destroy failed on ${nonHosts(reports)}:\n${others.join("\n")}`);
    return reports.some((r) => failedCount(r) > 0 || r.failure) ? EXIT.invalid : EXIT.ok;
  },
};

/** One object's status line: `in sync`, `in sync (…)`, or `state: detail`. */
function statusText(s: ObjectStatus): string {
  const state = s.state === "not ours" ? "not managed by pulumi-netpolicy" : s.state;
  if (s.detail === undefined) return state;
  if (s.state === "in sync") return `${state} (${s.detail})`;
  if (s.state === "drift" && s.drift && s.drift.by === undefined) return `${state}: ${s.detail}; run apply --force to repair`;
  if (s.state !== "drift" && s.state !== "not ours" && !/run apply/.test(s.detail)) return `${state}: ${s.detail}; run apply`;
  return `${state}: ${s.detail}`;
}

export const statusCommand: Command = {
  name: "status",
  summary: "report per host and per cluster object whether it matches the model (drift)",
  help: `Usage: netpol status FILE [--host H …] [--cluster] [--rancher]

Reads each host's rules and reports "in sync", "out of date" (the model changed: run apply),
"missing" (never applied or removed), or "drift" (edited by hand: run apply --force to repair).
Each cluster object is "in sync", "missing", "drift" (changed by another field manager, e.g.
kubectl edit: apply repairs it), "out of date" (the model changed), or "not managed by
pulumi-netpolicy" (an object of that name that netpol did not create).
A "warning:" line under a host reports a bridge whose traffic bypasses the rules (see apply).
Exits 1 when any host or object is not in sync or cannot be read (warnings do not count).
${CLUSTER_HELP}
${RANCHER_HELP}

${SELECT_HELP}`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const reports = await run(targetsOf(await deployInput(args, io)), (t) => t.status());
    for (const r of reports) {
      for (const l of reportLines(r, (s: ObjectStatus, indent) => [`${indent}${s.name}: ${statusText(s)}`, ...warningLines(s.warnings, indent)], (s) => `${s.name}: cannot read${r.kind === "hosts" ? " the host" : ""}: ${s.error.message}`)) io.out(l);
    }
    const others = reports.filter((r) => r.kind !== "hosts").flatMap(problems).map((p) => `  - ${p}`);
    if (others.length > 0) io.err(`status: ${nonHosts(reports)} could not be read completely:\n${others.join("\n")}`);
    const notInSync = reports.some((r) => failedCount(r) > 0 || r.failure !== undefined || r.items.some((s) => s.ok && (s.value as ObjectStatus).state !== "in sync"));
    return notInSync ? EXIT.invalid : EXIT.ok;
  },
};
