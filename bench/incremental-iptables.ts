/**
 * Benchmark "incremental", iptables part: one endpoint joins another group on a host whose ruleset
 * holds the 10,000-endpoint fleet (bench/generate.ts, 50 hosts, 200 groups; host h0's sets hold
 * every peer its rules name). The same change is applied to a lab host over SSH twice per round:
 * incremental (from the host's record of the previous apply) and full (`force`), from the same
 * starting state, alternating which goes first.
 *
 * Figures: bytes the apply sent from its check to its confirm (ApplyResult.bytesSent; the lock, the
 * read before and the record written after are the same in both modes and printed apart), and the
 * time of its check, arm and live steps (what differs between the modes, measured from each
 * command's start to the next one's) beside the whole apply's wall time against a lab host on
 * loopback, whose lock, two reads (before and confirm, ~0.9 s at this size) and record write are
 * the same in both modes. Targets: incremental ≤ 1/20 of the full apply's bytes and ≤ 1/5 of the
 * time of its check-to-live steps.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compile } from "../provider/compile";
import { parseModel } from "../provider/model/model";
import { Renderer } from "../provider/render";
import { HostRuleset, rulesText } from "../provider/ruleset";
import { READ_STEPS, SshTarget, observeSsh } from "../provider/targets/ssh";
import { applyIptables, deleteIptables } from "../provider/targets/ssh/iptables-apply";
import { iptablesDelta } from "../provider/targets/ssh/iptables-delta";
import { ModelInput } from "../provider/model/model";
import { fleet } from "./generate";
import { machineLoad, median, verdict, withLab } from "./lab-support";

export interface IncrementalIptablesOptions {
  rounds?: number;
  endpoints?: number;
}

/** What the iptables part measured (medians over the rounds). */
export interface IncrementalIptablesFigures {
  endpoints: number;
  rulesBytes: number;
  deltaBytes: number;
  /** Medians: bytes sent, the whole apply's wall time, and that of its check, arm and live steps. */
  full: { bytes: number; ms: number; writeMs: number };
  incremental: { bytes: number; ms: number; writeMs: number };
  met: boolean;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Host h0's iptables ruleset of the fleet, with endpoint `moved` in group `group` (or as generated). */
function render(doc: ModelInput, moved?: { name: string; group: string }): HostRuleset {
  const endpoints = (doc.endpoints ?? []).map((e) => (e.name === moved?.name ? { ...e, labels: { ...e.labels, group: moved.group, "com.rancher.department": moved.group.replace("g", "d") } } : e));
  const model = parseModel({ ...doc, endpoints, hosts: (doc.hosts ?? []).map((h) => ({ ...h, backend: "iptables" as const })) });
  return new Renderer(compile(model)).renderHost("h0");
}

export async function incrementalIptablesBench(options: IncrementalIptablesOptions = {}): Promise<IncrementalIptablesFigures> {
  const endpoints = options.endpoints ?? 10_000;
  const rounds = options.rounds ?? 3;
  console.log(`\n== incremental (iptables): one endpoint joins a group; host h0 of ${endpoints.toLocaleString("en")} endpoints / 50 hosts / 200 groups, over SSH to a lab host`);
  const doc = fleet({ endpoints, hosts: 50, groups: 200, kubernetesPolicies: 20 });
  // A remote endpoint (on h1) whose group h0's rules name: it leaves g1 for g2.
  const mover = (doc.endpoints ?? []).find((e) => e.host === "h1" && e.labels?.group === "g1");
  if (!mover) throw new Error("incremental: the fleet has no endpoint of g1 on h1");
  const before = render(doc);
  const after = render(doc, { name: mover.name, group: "g2" });
  const delta = iptablesDelta(rulesText(before), after.iptables!);
  if (delta.kind !== "incremental") throw new Error(`incremental: the change is not a delta: ${delta.reason}`);
  const rulesBytes = Buffer.byteLength(rulesText(after));
  const deltaBytes = Buffer.byteLength(delta.sets + delta.v4 + delta.v6 + delta.destroy);
  console.log(`  h0's rules ${kib(rulesBytes)}; the delta ${kib(deltaBytes)} (${delta.sets.split("\n").filter(Boolean).length} set lines, ${delta.changedChains.v4.length} v4 / ${delta.changedChains.v6.length} v6 chains refilled)`);

  const recordDir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-bench-incipt-"));
  try {
    return await withLab({ hosts: [{ name: "h1" }], endpoints: [], ipv6: false }, async (lab) => {
      const info = lab.hostSsh("h1");
      const target: SshTarget = { host: info.host, port: info.port, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey };
      const apply = (r: HostRuleset, force = false) => applyIptables(target, { ...r, host: "h1" }, { record: { dir: recordDir }, force });
      type Run = { bytes: number; ms: number; writeMs: number };
      const runs = { full: [] as Run[], incremental: [] as Run[] };
      const steps = { full: new Map<string, number[]>(), incremental: new Map<string, number[]>() };
      const timed = async (mode: "full" | "incremental") => {
        await apply(before, true); // the same starting state, with its record
        const t = performance.now();
        // Each step's time: from its command's start to the next one's (the last to the apply's end).
        const starts: [string, number][] = [];
        const stop = observeSsh({ commandStarted: (_host, step) => starts.push([step, performance.now()]) });
        const r = await apply(after, mode === "full").finally(stop);
        const ms = performance.now() - t;
        starts.forEach(([step, at], i) => steps[mode].set(step, [...(steps[mode].get(step) ?? []), ((starts[i + 1]?.[1] ?? t + ms) - at)]));
        if (r.mode !== mode) throw new Error(`incremental: expected a ${mode} apply, got ${r.mode ?? "none"}`);
        // The apply's own work: check, arm and live steps (the lock, reads, confirm and record write are the same in both modes).
        const fixed = new Set(["lock table", ...READ_STEPS, "confirm and disarm", "save record"]);
        const writeMs = starts.reduce((sum, [step, at], i) => sum + (fixed.has(step) ? 0 : (starts[i + 1]?.[1] ?? t + ms) - at), 0);
        runs[mode].push({ bytes: r.bytesSent ?? 0, ms, writeMs });
      };
      for (let round = 0; round < rounds; round++) {
        for (const mode of round % 2 === 0 ? (["incremental", "full"] as const) : (["full", "incremental"] as const)) await timed(mode);
      }
      await deleteIptables(target, "h1", before.table, { recordDir });
      const med = (list: Run[]) => ({ bytes: median(list.map((x) => x.bytes)), ms: median(list.map((x) => x.ms)), writeMs: median(list.map((x) => x.writeMs)) });
      const full = med(runs.full);
      const incremental = med(runs.incremental);
      const bytesOk = incremental.bytes * 20 <= full.bytes;
      const timeOk = incremental.writeMs * 5 <= full.writeMs;
      console.log(`  full:        ${kib(full.bytes).padStart(10)} sent, check to live ${full.writeMs.toFixed(0).padStart(5)} ms, whole apply ${full.ms.toFixed(0).padStart(5)} ms (medians of ${rounds})`);
      console.log(`  incremental: ${kib(incremental.bytes).padStart(10)} sent, check to live ${incremental.writeMs.toFixed(0).padStart(5)} ms, whole apply ${incremental.ms.toFixed(0).padStart(5)} ms`);
      console.log(`  bytes ${(full.bytes / Math.max(1, incremental.bytes)).toFixed(1)}x fewer (target >= 20x): ${verdict(bytesOk)}; check to live ${(full.writeMs / incremental.writeMs).toFixed(1)}x less (target >= 5x): ${verdict(timeOk)}; whole apply ${(full.ms / incremental.ms).toFixed(1)}x less`);
      for (const mode of ["full", "incremental"] as const) {
        console.log(`  ${mode} by step (median ms): ${[...steps[mode]].map(([step, list]) => `${step} ${median(list).toFixed(0)}`).join("; ")}`);
      }
      console.log(`  not counted, the same in both modes: the record written after the apply (its listing, ~${kib(rulesBytes)}, and the rules text's changed lines), the lock and the read before. ${machineLoad()}`);
      return { endpoints, rulesBytes, deltaBytes, full, incremental, met: bytesOk && timeOk };
    });
  } finally {
    fs.rmSync(recordDir, { recursive: true, force: true });
  }
}
