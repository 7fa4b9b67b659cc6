/**
 * Benchmark "converge": 20 lab hosts carrying 500 endpoints (25 per host, every one a real
 * endpoint namespace: the lab builds them in ~15 s, so nothing is left out) under Rancher stack
 * isolation + groupBy. Applies every host's ruleset through the real SSH path:
 *
 *   - one host at a time (concurrency 1) and in parallel (the default fan-out), each from a clean
 *     state (the table deleted on every host before each timed run), alternating the order per round;
 *   - then a no-op apply of the same rulesets, counting SSH sessions and commands per host
 *     (observeSsh) and comparing `nft -a list table` (table and rule handles) before and after,
 *     which proves nothing was rewritten.
 *
 * Targets: parallel ≤ 0.5 × one at a time; no-op = 0 writes and exactly 1 read (1 session) per host.
 */
import { compile } from "../provider/compile";
import { Analyzer } from "../provider/analyze/reach";
import { parseProbe } from "../provider/analyze/probe";
import { parseModel } from "../provider/model/model";
import { Renderer } from "../provider/render";
import { mapBounded } from "../provider/targets/pool";
import { rulesText } from "../provider/deploy/hosts/rules";
import { HostOutcome, HostsTarget } from "../provider/deploy/hosts/target";
import type { TargetReport } from "../provider/deploy/target";
import { READ_STEPS, deleteHost, observeSsh, SshTarget } from "../provider/targets/ssh";
import { LOCK_TABLE_STEP } from "../provider/targets/ssh/table-lock";
import { ARM_STEP, DEFAULT_ROLLBACK_SEC } from "../provider/targets/ssh/rollback";
import { Lab } from "../test/lab/lab";
import { fleet } from "./generate";
import { machineLoad, median, seconds, verdict, withLab } from "./lab-support";

export interface ConvergeOptions {
  hosts?: number;
  endpoints?: number;
  rounds?: number;
}

const PROBE_PORT = 80;
const LABEL = 28;
/**
 * Applies run with the default options, rollback timer included (DEFAULT_ROLLBACK_SEC): the
 * benchmark also shows how long each host really keeps its timer armed, i.e. the margin left.
 */
const APPLY = {};

/** Per host: SSH sessions opened and commands started, split into the table's lock, reads (READ_STEPS) and the rest. */
interface Traffic {
  sessions: number;
  /** Taking the table's lock (LOCK_TABLE_STEP): neither a read nor a write of the rules. */
  locks: number;
  reads: number;
  writes: number;
  /** When the rollback timer was armed and when the confirming disarm started (ms), if it was. */
  armedAt?: number;
  disarmedAt?: number;
}

/** Counts SSH traffic per host while `fn` runs. */
async function countTraffic<R>(fn: () => Promise<R>): Promise<{ result: R; traffic: Map<string, Traffic> }> {
  const traffic = new Map<string, Traffic>();
  const of = (host: string): Traffic => {
    let t = traffic.get(host);
    if (!t) traffic.set(host, (t = { sessions: 0, locks: 0, reads: 0, writes: 0 }));
    return t;
  };
  const stop = observeSsh({
    sessionOpened: (host) => of(host).sessions++,
    // Only the read steps (the table listing with the bridge report) read; the table's lock is
    // counted on its own; everything else (nft -c, arming the timer, nft -f, disarm) counts as a write.
    commandStarted: (host, step) => {
      const t = of(host);
      if (step === LOCK_TABLE_STEP) t.locks++;
      else if (READ_STEPS.has(step)) t.reads++;
      else t.writes++;
      // nftables arms in the command that also checks and applies: from its start, the time armed is
      // overstated by the check (so the margin printed is, if anything, too small).
      if (step.split(", ").includes(ARM_STEP)) t.armedAt = performance.now();
      if (step === "confirm and disarm") t.disarmedAt = performance.now();
    },
  });
  try {
    return { result: await fn(), traffic };
  } finally {
    stop();
  }
}

function summarize(traffic: Map<string, Traffic>, hosts: number): string {
  const all = [...traffic.values()];
  const range = (f: (t: Traffic) => number): string => {
    const values = all.map(f);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  };
  return `${traffic.size}/${hosts} hosts touched; per host: ${range((t) => t.sessions)} SSH session(s), ${range((t) => t.locks)} lock(s), ${range((t) => t.reads)} read(s), ${range((t) => t.writes)} other command(s), counted as writes`;
}

export async function convergeBench(options: ConvergeOptions = {}): Promise<boolean> {
  const hostCount = options.hosts ?? 20;
  const endpointCount = options.endpoints ?? 500;
  const rounds = options.rounds ?? 3;
  console.log(`\n== converge: ${hostCount} lab hosts, ${endpointCount} endpoints, Rancher stack isolation + groupBy, applied over SSH`);

  // The synthetic fleet of the compile benchmark, without Kubernetes policies, on the lab's hosts.
  const doc = fleet({ endpoints: endpointCount, hosts: hostCount, groups: 50, kubernetesPolicies: 0 });
  const modelEndpoints = doc.endpoints ?? [];
  const hostNames = (doc.hosts ?? []).map((h) => h.name);
  // Every endpoint is a real namespace; one destination listens, for the check that the policy is in force.
  const listener = modelEndpoints[0].name;
  const spec = {
    hosts: hostNames.map((name) => ({ name })),
    endpoints: modelEndpoints.map((e) => ({ name: e.name, host: e.host ?? "", listen: e.name === listener ? { tcp: [PROBE_PORT] } : undefined })),
    ipv6: false,
  };

  return withLab(spec, async (lab, buildMs) => {
    console.log(`  lab built in ${seconds(buildMs)} (${hostCount} host namespaces with sshd, ${endpointCount} endpoint namespaces)`);
    const model = parseModel({ ...doc, endpoints: modelEndpoints.map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })) });
    const t0 = performance.now();
    const policySet = compile(model);
    const renderer = new Renderer(policySet);
    const list = hostNames.map((h) => ({ target: sshTarget(lab, h), ruleset: renderer.renderHost(h) }));
    // The deploy layer's hosts target, as `netpol apply` and `pulumi up` use it.
    const hosts = (concurrency?: number) => new HostsTarget(list.map(({ ruleset }) => ({ name: ruleset.host, ruleset, text: rulesText(ruleset) })),
      list.map(({ target, ruleset }) => ({ name: ruleset.host, target })), undefined, concurrency);
    const outcomes = (r: TargetReport<HostOutcome>): HostOutcome[] => r.items.map((i) => { if (!i.ok) throw i.error; return i.value; });
    const bytes = list.reduce((a, { ruleset }) => a + (ruleset.nft ?? "").length, 0);
    console.log(`  compile + render ${hostCount} hosts: ${seconds(performance.now() - t0)} (${(bytes / 1024).toFixed(0)} KiB of rules in all)`);

    const clean = async (): Promise<void> => {
      const settled = await mapBounded(list, ({ target, ruleset }) => deleteHost(target, ruleset.host, "nftables", ruleset.table));
      const failed = settled.find((s) => !s.ok);
      if (failed && !failed.ok) throw failed.error;
    };
    const timedApply = async (concurrency: number | undefined): Promise<{ ms: number; traffic: Map<string, Traffic> }> => {
      await clean();
      const t = performance.now();
      const { result, traffic } = await countTraffic(() => hosts(concurrency).apply(APPLY));
      const ms = performance.now() - t;
      if (outcomes(result).some((a) => !a.changed)) throw new Error("converge: a host was already up to date after the clean-up");
      return { ms, traffic };
    };

    const serial: number[] = [];
    const parallel: number[] = [];
    let applyTraffic = new Map<string, Traffic>();
    let parallelTraffic: Array<Map<string, Traffic>> = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so that a trend in machine load does not favour one side.
      const order = r % 2 === 0 ? [1, undefined] : [undefined, 1];
      for (const concurrency of order) {
        const { ms, traffic } = await timedApply(concurrency);
        (concurrency === 1 ? serial : parallel).push(ms);
        applyTraffic = traffic;
        if (concurrency === undefined) parallelTraffic = [...parallelTraffic, traffic];
      }
    }
    // The last timed run may have been the serial one: leave the hosts applied either way.
    const s = median(serial);
    const p = median(parallel);
    console.log(`  ${"apply, one host at a time".padEnd(LABEL)} median ${seconds(s)}  (runs: ${serial.map(seconds).join(", ")})`);
    console.log(`  ${"apply, parallel (fan-out 16)".padEnd(LABEL)} median ${seconds(p)}  (runs: ${parallel.map(seconds).join(", ")})`);
    console.log(`  ${"SSH traffic of an apply".padEnd(LABEL)} ${summarize(applyTraffic, hostCount)}`);
    console.log(`  ${"rollback timer armed".padEnd(LABEL)} ${armedSummary(parallelTraffic)}`);
    const parallelOk = p <= 0.5 * s;
    console.log(`  ${"parallel / one at a time".padEnd(LABEL)} ${(p / s).toFixed(2)}   target ≤ 0.50: ${verdict(parallelOk)}`);

    const inForce = await checkPolicyInForce(lab, policySet, listener);
    console.log(`  policy in force (real connections, tcp/${PROBE_PORT}): ${inForce.text}`);

    // No-op: the same rulesets again. Handles in `nft -a` change whenever a table is rewritten.
    const before = await Promise.all(list.map(({ ruleset }) => listWithHandles(lab, ruleset.host, ruleset.table)));
    const t1 = performance.now();
    const { result: noopReport, traffic } = await countTraffic(() => hosts().apply(APPLY));
    const noopMs = performance.now() - t1;
    const noop = { applied: outcomes(noopReport) };
    const after = await Promise.all(list.map(({ ruleset }) => listWithHandles(lab, ruleset.host, ruleset.table)));
    const unchangedHosts = before.filter((text, i) => text === after[i]).length;
    const perHost = [...traffic.values()];
    const writes = perHost.reduce((a, t) => a + t.writes, 0);
    const oneReadEach = traffic.size === hostCount && perHost.every((t) => t.reads === 1 && t.sessions === 1);
    const reportedUnchanged = noop.applied.filter((a) => !a.changed).length;
    console.log(`  ${"no-op apply (fan-out 16)".padEnd(LABEL)} ${seconds(noopMs)}; ${summarize(traffic, hostCount)}`);
    console.log(`  ${"".padEnd(LABEL)} reported unchanged ${reportedUnchanged}/${hostCount}; table and rule handles identical on ${unchangedHosts}/${hostCount} hosts`);
    const noopOk = writes === 0 && oneReadEach && unchangedHosts === hostCount && reportedUnchanged === hostCount;
    console.log(`  ${"no-op target".padEnd(LABEL)} 0 writes and 1 read per host: ${verdict(noopOk)} (${writes} writes in all)`);
    console.log(`  measured under ${machineLoad()}`);
    await clean();
    return parallelOk && noopOk && inForce.ok;
  });
}

/** How long hosts kept the rollback timer armed in the parallel applies (arm → confirming disarm), against its length. */
function armedSummary(runs: Array<Map<string, Traffic>>): string {
  const spans = runs.flatMap((m) => [...m.values()]).flatMap((t) => (t.armedAt !== undefined && t.disarmedAt !== undefined ? [t.disarmedAt - t.armedAt] : []));
  if (spans.length === 0) return "(no host armed a timer)";
  const max = Math.max(...spans);
  return `median ${seconds(median(spans))}, max ${seconds(max)} over ${spans.length} host applies at fan-out 16; timer ${DEFAULT_ROLLBACK_SEC} s (max uses ${((100 * max) / (DEFAULT_ROLLBACK_SEC * 1000)).toFixed(0)} % of it)`;
}

function sshTarget(lab: Lab, host: string): SshTarget {
  const info = lab.hostSsh(host);
  return { host: info.host, port: info.port, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey };
}

async function listWithHandles(lab: Lab, host: string, table: string): Promise<string> {
  const listing = await lab.exec(host, ["nft", "-a", "list", "table", "inet", table], { check: false });
  return listing.code === 0 ? listing.stdout : "(absent)";
}

/**
 * One allowed and one denied flow into the listening endpoint, chosen by the analyzer from other
 * hosts, then tried with real connections: the timed applies must have installed a working policy.
 */
async function checkPolicyInForce(lab: Lab, policySet: ReturnType<typeof compile>, listener: string): Promise<{ ok: boolean; text: string }> {
  const probe = parseProbe(`tcp/${PROBE_PORT}`);
  if (typeof probe === "string") throw new Error(probe);
  const analyzer = new Analyzer(policySet);
  const listenerHost = lab.endpoint(listener).host;
  const remote = lab.endpoints.filter((e) => e.host !== listenerHost);
  const allowed = remote.find((e) => analyzer.reach(e.name, listener, probe).allowed);
  const denied = remote.find((e) => !analyzer.reach(e.name, listener, probe).allowed);
  if (!allowed || !denied) return { ok: false, text: "could not find both an allowed and a denied source on another host" };
  const [a, d] = await Promise.all([lab.probe(allowed.name, listener, probe.text), lab.probe(denied.name, listener, probe.text)]);
  const ok = a && !d;
  return { ok, text: `${allowed.name} → ${listener} ${a ? "connects" : "FAILS"} (allowed), ${denied.name} → ${listener} ${d ? "CONNECTS" : "blocked"} (denied): ${ok ? "yes" : "NO"}` };
}
