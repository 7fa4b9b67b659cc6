/** `netpol plan / apply / destroy / status`: act on the hosts the model names, over SSH. */
import { compile } from "../../compile";
import { Renderer, HostRuleset } from "../../render";
import { applyHosts, deleteHost, detectDrift, mapHosts, readHost } from "../../targets/ssh";
import { ParsedArgs, single, UsageError } from "../args";
import { Command } from "../command";
import { CliIo, EXIT } from "../io";
import { loadModelFile } from "../load";
import { clearHostState, loadHostState, saveHostState, stateDirFor } from "../host-state";
import { CliHost, hostTargets } from "../targets";

interface Prepared {
  hosts: { host: CliHost; ruleset: HostRuleset; text: string }[];
}

const textOf = (r: HostRuleset) => r.nft ?? (r.iptables ? `${r.iptables.ipset}\n${r.iptables.v4}\n${r.iptables.v6}` : "");

async function prepare(args: ParsedArgs, io: CliIo): Promise<Prepared> {
  const file = args.positional[0];
  const model = await loadModelFile(file, io.cwd);
  const targets = hostTargets(model, file, io.cwd, io.env);
  const only = args.options.host;
  for (const h of only ?? []) if (!targets.some((t) => t.name === h)) throw new UsageError(`--host: no host named "${h}" in the model`);
  const renderer = new Renderer(compile(model));
  const hosts = targets.filter((t) => !only || only.includes(t.name)).map((host) => {
    const ruleset = renderer.renderHost(host.name);
    return { host, ruleset, text: textOf(ruleset) };
  });
  if (hosts.length === 0) throw new UsageError("the model names no hosts to act on");
  return { hosts };
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

const hostOption = { host: { value: true, repeat: true } };
const fail = (failed: number, total: number) => (failed > 0 ? `, ${failed} of ${total} failed` : "");

export const planCommand: Command = {
  name: "plan",
  summary: "show, per host, the ruleset lines an apply would add and remove",
  help: `Usage: netpol plan FILE [--host H …] [--diff]

Reads each host's current rules over SSH (nothing is written) and prints per host "up to date",
or the number of lines added and removed. With --diff, the lines themselves (+ added, - removed).

  --host H   only this host (repeatable)
  --diff     print the changed lines`,
  options: { ...hostOption, diff: {} },
  positional: 1,
  async run(args, io) {
    const { hosts } = await prepare(args, io);
    const results = await mapHosts(hosts, async ({ host, ruleset, text }) => {
      const live = await readHost(host.target, host.name, ruleset.backend, ruleset.table);
      if (live.present && live.hash === ruleset.hash) return { status: "up to date" as const };
      const state = live.present ? await loadHostState(host.target, host.name, ruleset.table) : {};
      return { status: live.present ? ("update" as const) : ("create" as const), ...lineDiff(state.rendered ?? "", text) };
    });
    let failed = 0;
    results.forEach((r, i) => {
      const name = hosts[i].host.name;
      if (!r.ok) { failed++; io.out(`${name}: cannot read the host: ${r.error.message}`); return; }
      const v = r.value;
      if (v.status === "up to date") { io.out(`${name}: up to date`); return; }
      const added = v.added.filter((l) => l.trim() !== "");
      const removed = v.removed.filter((l) => l.trim() !== "");
      io.out(`${name}: ${v.status} — ${added.length} line(s) added, ${removed.length} removed`);
      if (args.flags.has("diff")) for (const l of [...removed.map((x) => `  - ${x}`), ...added.map((x) => `  + ${x}`)]) io.out(l);
    });
    io.out(`plan: ${hosts.length} host(s)${fail(failed, hosts.length)}`);
    return failed > 0 ? EXIT.invalid : EXIT.ok;
  },
};

export const applyCommand: Command = {
  name: "apply",
  summary: "apply each host's ruleset over SSH (atomic, idempotent, with rollback)",
  help: `Usage: netpol apply FILE [--host H …] [--rollback-timer SEC] [--concurrency N]

For every host, in parallel: checks the new rules (nft -c), saves the current table, arms a
host-side timer that restores it, applies in one transaction, confirms over a new SSH connection,
then disarms. A host that already carries the desired rules is not written to. When some hosts
fail, the others keep their new rules and the error lists every failed host; run apply again.

  --host H             only this host (repeatable)
  --rollback-timer S   seconds before an unconfirmed apply restores itself (default 20)
  --concurrency N      hosts at once (default 16)
  --force              rewrite hosts even when their hash matches (repairs hand edits)`,
  options: { ...hostOption, "rollback-timer": { value: true }, concurrency: { value: true }, force: {} },
  positional: 1,
  async run(args, io) {
    const timer = Number(single(args, "rollback-timer") ?? 20);
    const concurrency = Number(single(args, "concurrency") ?? 16);
    if (!Number.isInteger(timer) || timer < 5 || timer > 3600) throw new UsageError("--rollback-timer must be 5-3600 seconds");
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError("--concurrency must be 1-256");
    const { hosts } = await prepare(args, io);
    // Each host is applied with its own state folder, so hosts sharing a filesystem never collide.
    const settled = await mapHosts(hosts, async ({ host, ruleset, text }) => {
      const report = await applyHosts([{ target: host.target, ruleset }], {
        rollbackTimerSec: timer, stateDir: stateDirFor(host.name), concurrency: 1, force: args.flags.has("force"),
      });
      if (report.error || report.applied.length === 0) throw report.failures[0] ?? report.error;
      const result = report.applied[0];
      if (result.changed) await saveHostState(host.target, host.name, ruleset.table, text, result.liveText);
      return result;
    }, { concurrency });
    let changed = 0;
    const failures: string[] = [];
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      if (!s.ok) { failures.push(`  - ${s.error.message}`); io.out(`${name}: FAILED`); return; }
      if (s.value.changed) changed++;
      io.out(`${name}: ${s.value.changed ? "applied" : "up to date"} (${hosts[i].ruleset.backend}, ${hosts[i].ruleset.table}, ${s.value.hash.slice(0, 12)})`);
    });
    io.out(`apply: ${hosts.length} host(s), ${changed} changed, ${hosts.length - changed - failures.length} up to date${fail(failures.length, hosts.length)}`);
    if (failures.length > 0) {
      io.err(`apply failed on ${failures.length} of ${hosts.length} host(s); the others keep their new rules. Fix the cause and run apply again:\n${failures.join("\n")}`);
      return EXIT.invalid;
    }
    return EXIT.ok;
  },
};

export const destroyCommand: Command = {
  name: "destroy",
  summary: "remove the project's own table (and nothing else) from every host",
  help: `Usage: netpol destroy FILE [--host H …]

Deletes the network's own table (nftables) or chains, hook and sets (iptables) from each host,
with the files the project keeps there. Other tables and chains are never touched.`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const { hosts } = await prepare(args, io);
    const settled = await mapHosts(hosts, async ({ host, ruleset }) => {
      const r = await deleteHost(host.target, host.name, ruleset.backend, ruleset.table, { stateDir: stateDirFor(host.name) });
      await clearHostState(host.target, host.name, ruleset.table);
      return r;
    });
    let failed = 0;
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      if (!s.ok) { failed++; io.err(`${name}: ${s.error.message}`); return; }
      io.out(`${name}: ${s.value.deleted ? "removed" : "nothing to remove"}`);
    });
    io.out(`destroy: ${hosts.length} host(s)${fail(failed, hosts.length)}`);
    return failed > 0 ? EXIT.invalid : EXIT.ok;
  },
};

export const statusCommand: Command = {
  name: "status",
  summary: "report per host whether its rules match the model (drift)",
  help: `Usage: netpol status FILE [--host H …]

Reads each host's rules and reports "in sync", "out of date" (the model changed: run apply),
"missing" (never applied or removed), or "drift" (edited by hand: run apply --force to repair).
Exits 1 when any host is not in sync or cannot be read.`,
  options: hostOption,
  positional: 1,
  async run(args, io) {
    const { hosts } = await prepare(args, io);
    const settled = await mapHosts(hosts, async ({ host, ruleset }) => {
      const live = await readHost(host.target, host.name, ruleset.backend, ruleset.table);
      if (!live.present) return "missing: no rules of this network on the host; run apply";
      if (live.hash !== ruleset.hash) return `out of date: the host carries ${live.hash?.slice(0, 12) ?? "(no hash)"}, the model renders ${ruleset.hash.slice(0, 12)}; run apply`;
      const state = await loadHostState(host.target, host.name, ruleset.table);
      if (state.live === undefined) return "in sync (hash matches; no listing recorded to compare content)";
      const drift = detectDrift({ hash: ruleset.hash, liveText: state.live }, live);
      return drift.drifted ? `drift: ${drift.reason}; run apply --force to repair` : "in sync";
    });
    let bad = 0;
    settled.forEach((s, i) => {
      const name = hosts[i].host.name;
      const text = s.ok ? s.value : `cannot read the host: ${s.error.message}`;
      if (!text.startsWith("in sync")) bad++;
      io.out(`${name}: ${text}`);
    });
    return bad > 0 ? EXIT.invalid : EXIT.ok;
  },
};
