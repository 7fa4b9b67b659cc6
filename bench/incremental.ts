/**
 * Benchmark "incremental" (nftables): one lab host carries the ruleset of a 10,000-endpoint fleet
 * (bench/generate.ts, 10 model hosts: the lab host gets host h0's rules); one endpoint elsewhere
 * joins another group. Applied through the real SSH path with a record, incremental (the delta,
 * nft-delta.ts) and full (force), alternating per round:
 *
 *   - bytes sent (ApplyResult.bytesSent: the transaction), every command's bytes both ways, and
 *     the whole apply's wall time;
 *   - host-side apply time: `nft -f` of the same transaction text run on the host, timed there
 *     (5 times per round, each from the table of the starting state);
 *   - whether every unchanged rule and block kept its handle (`nft -a list table`).
 *
 * Targets: incremental ≤ 1/20 of the full apply's bytes and ≤ 1/5 of its host-side time.
 * Then 20 lab hosts, each carrying its own host's rules of a 20-host fleet, one endpoint changing
 * group (so every host's group sets change): wall time of applying all 20 in parallel (fan-out 16),
 * incremental vs full.
 * `backend` is an option so that the iptables side (bench/incremental-iptables.ts) can join.
 */
import { parseModel } from "../provider/model/model";
import { compile } from "../provider/compile";
import { Renderer } from "../provider/render";
import { applyNftables, nftApplyPlan, readNftables } from "../provider/targets/ssh/nftables-apply";
import type { SshTarget } from "../provider/targets/ssh/connect";
import { observeSsh } from "../provider/targets/ssh/session";
import type { HostRuleset } from "../provider/ruleset";
import { Lab } from "../test/lab/lab";
import { mapBounded } from "../provider/targets/pool";
import { fleet } from "./generate";
import { machineLoad, median, verdict, withLab } from "./lab-support";

export interface IncrementalOptions {
  rounds?: number;
  endpoints?: number;
  backend?: "nftables";
}

const RECORD = { dir: "/var/lib/pulumi-netpolicy/bench-records" };
/** Host-side timings per round and mode (the medians are over all of them). */
const HOST_SAMPLES = 5;

function sshTarget(lab: Lab, host: string): SshTarget {
  const info = lab.hostSsh(host);
  return { host: info.host, port: info.port, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey };
}

/** Handles of every line that has one, keyed by its block and text (the hash rule left out). */
function handles(listing: string): Map<string, string> {
  const out = new Map<string, string>();
  let block = "";
  for (const line of listing.split("\n")) {
    const m = /^(.*?) # handle (\d+)$/.exec(line);
    if (!m) continue;
    if (/^\t(set|map|chain) /.test(line)) block = m[1].trim();
    if (m[1].trim().startsWith('return comment "netpol:')) continue;
    let key = `${block}: ${m[1].trim()}`;
    while (out.has(key)) key += " (again)";
    out.set(key, m[2]);
  }
  return out;
}

async function hostSideMs(lab: Lab, host: string, transaction: string): Promise<number> {
  // Timed on the host: only nft's own work, no SSH.
  const r = await lab.exec(host, ["sh", "-c", "s=$(date +%s%N); nft -f -; e=$(date +%s%N); echo $(( (e - s) / 1000 ))"], { stdin: transaction });
  return Number(r.stdout.trim()) / 1000;
}

export async function incrementalBench(options: IncrementalOptions = {}): Promise<boolean> {
  const rounds = options.rounds ?? 3;
  const endpoints = options.endpoints ?? 10_000;
  console.log(`\n== incremental (nftables): one endpoint joins a group, host ruleset of a ${endpoints.toLocaleString("en")}-endpoint fleet; ${rounds} rounds; load ${machineLoad()}`);
  const shape = { endpoints, hosts: 10, groups: 200, kubernetesPolicies: 0 };
  const base = fleet(shape);
  // Endpoint 7 (on h0) moves to another label group: h0's group sets and its dispatch entry change.
  const changed = { ...base, endpoints: (base.endpoints ?? []).map((e, i) => (i === 7 ? { ...e, labels: { ...e.labels, "com.rancher.department": "d3" } } : e)) };
  const render = (doc: typeof base): HostRuleset => new Renderer(compile(parseModel(doc))).renderHost("h0");
  const before = render(base);
  const after = render(changed);
  console.log(`  h0: ${(before.nft ?? "").length.toLocaleString("en")} bytes of rules; the change: ${before.hash === after.hash ? "NONE (bench bug)" : "set elements and dispatch"}`);

  return withLab({ hosts: [{ name: "h1" }], endpoints: [] }, async (lab) => {
    const target = sshTarget(lab, "h1");
    const inc = { bytes: [] as number[], wall: [] as number[], host: [] as number[], sent: [] as number[], received: [] as number[] };
    const full = { bytes: [] as number[], wall: [] as number[], host: [] as number[], sent: [] as number[], received: [] as number[] };
    let handlesKept = true;
    for (let round = 0; round < rounds; round++) {
      // Incremental: from `before` (fully applied, recorded) to `after`.
      await applyNftables(target, before, { record: RECORD, force: true });
      const was = handles((await lab.exec("h1", ["nft", "-a", "list", "table", "inet", before.table])).stdout);
      let t0 = performance.now();
      const r = await onTheWire(inc, () => applyNftables(target, after, { record: RECORD }));
      inc.wall.push(performance.now() - t0);
      if (r.mode !== "incremental") throw new Error(`incremental bench: the apply was ${r.mode ?? "no change"}`);
      inc.bytes.push(r.bytesSent ?? 0);
      const now = handles((await lab.exec("h1", ["nft", "-a", "list", "table", "inet", before.table])).stdout);
      for (const [line, handle] of now) if (was.has(line) && was.get(line) !== handle && !line.startsWith("chain version")) handlesKept = false;

      // Full: the same change, forced.
      await applyNftables(target, before, { record: RECORD, force: true });
      t0 = performance.now();
      const f = await onTheWire(full, () => applyNftables(target, after, { record: RECORD, force: true }));
      full.wall.push(performance.now() - t0);
      full.bytes.push(f.bytesSent ?? 0);

      // Host-side: the same two transactions, nft alone, each from the table of `before` (put
      // back with nft alone), HOST_SAMPLES times per round: single runs swing with the machine.
      await applyNftables(target, before, { record: RECORD, force: true });
      const current = await readNftables(target, "h1", before.table, RECORD.dir);
      const plan = nftApplyPlan(after.table, after.nft ?? "", current);
      const reset = nftApplyPlan(before.table, before.nft ?? "", current, true).transaction;
      const fullAfter = nftApplyPlan(after.table, after.nft ?? "", current, true).transaction;
      for (let k = 0; k < HOST_SAMPLES; k++) {
        for (const [into, transaction] of [[inc.host, plan.transaction], [full.host, fullAfter]] as const) {
          await lab.exec("h1", ["nft", "-f", "-"], { stdin: reset });
          into.push(await hostSideMs(lab, "h1", transaction));
        }
      }
    }
    const bytesRatio = median(inc.bytes) / median(full.bytes);
    const hostRatio = median(inc.host) / median(full.host);
    console.log(`  bytes sent:        incremental ${median(inc.bytes).toLocaleString("en")}, full ${median(full.bytes).toLocaleString("en")} (1/${(1 / bytesRatio).toFixed(0)}; target ≤ 1/20: ${verdict(bytesRatio <= 1 / 20)})`);
    const kb = (xs: number[]) => `${(median(xs) / 1024).toFixed(0)} KiB`;
    console.log(`  on the wire (every command, its input and output, both connections): sent ${kb(inc.sent)} incremental, ${kb(full.sent)} full; received ${kb(inc.received)}, ${kb(full.received)}`);
    console.log(`  host-side nft -f:  incremental ${median(inc.host).toFixed(1)} ms, full ${median(full.host).toFixed(1)} ms (1/${(1 / hostRatio).toFixed(1)}; target ≤ 1/5: ${verdict(hostRatio <= 1 / 5)})`);
    console.log(`  whole apply (SSH, check, timer, confirm, record): incremental ${median(inc.wall).toFixed(0)} ms, full ${median(full.wall).toFixed(0)} ms`);
    console.log(`  unchanged rules and blocks kept their handles: ${handlesKept ? "yes" : "NO"}`);
    return bytesRatio <= 1 / 20 && hostRatio <= 1 / 5 && handlesKept;
  }).then(async (met) => (await fleetBench(rounds, endpoints)) && met);
}

/** Runs `apply`, adding what its commands sent (text and input) and received (output) to `into`. */
async function onTheWire<T>(into: { sent: number[]; received: number[] }, apply: () => Promise<T>): Promise<T> {
  let sent = 0;
  let received = 0;
  const stop = observeSsh({ ran: (_host, _step, what, bytes) => { sent += Buffer.byteLength(what.command) + Buffer.byteLength(what.stdin); received += bytes; } });
  try {
    return await apply();
  } finally {
    stop();
    into.sent.push(sent);
    into.received.push(received);
  }
}

/** 20 hosts, one endpoint changes everywhere: wall time of the parallel apply, incremental vs full. */
async function fleetBench(rounds: number, endpoints: number): Promise<boolean> {
  const hosts = 20;
  const base = fleet({ endpoints, hosts, groups: 200, kubernetesPolicies: 0 });
  const changed = { ...base, endpoints: (base.endpoints ?? []).map((e, i) => (i === 7 ? { ...e, labels: { ...e.labels, "com.rancher.department": "d3" } } : e)) };
  const names = Array.from({ length: hosts }, (_, h) => `h${h}`);
  const renderAll = (doc: typeof base) => { const r = new Renderer(compile(parseModel(doc))); return names.map((h) => r.renderHost(h)); };
  const before = renderAll(base);
  const after = renderAll(changed);
  const differ = after.filter((r, i) => r.hash !== before[i].hash).length;
  console.log(`  ${hosts} hosts (${differ} of them change), ${endpoints.toLocaleString("en")} endpoints:`);
  return withLab({ hosts: names.map((name) => ({ name })), endpoints: [] }, async (lab) => {
    const targets = names.map((h) => sshTarget(lab, h));
    const applyAll = (rulesets: HostRuleset[], force: boolean) =>
      mapBounded(rulesets, (rs, i) => applyNftables(targets[i], rs, { record: RECORD, force }), { concurrency: 16 });
    const inc: number[] = [];
    const full: number[] = [];
    let allIncremental = true;
    for (let round = 0; round < rounds; round++) {
      await applyAll(before, true);
      let t0 = performance.now();
      const results = await applyAll(after, false);
      inc.push(performance.now() - t0);
      if (results.some((r) => !r.ok || (r.value.changed && r.value.mode !== "incremental"))) allIncremental = false;
      await applyAll(before, true);
      t0 = performance.now();
      await applyAll(after, true);
      full.push(performance.now() - t0);
    }
    console.log(`    wall time: incremental ${median(inc).toFixed(0)} ms, full ${median(full).toFixed(0)} ms (${(median(full) / median(inc)).toFixed(1)}x); every changed host incremental: ${allIncremental ? "yes" : "NO"}`);
    return allIncremental;
  });
}
