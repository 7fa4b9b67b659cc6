/**
 * Benchmark "packet": what the rules cost on the packet path. Every setup gets its own lab host
 * with two endpoints (client, server) routed through the host's forward path, identical but for
 * the filter loaded in the host:
 *
 *   none         nothing loaded (so the host does not even track connections);
 *   conntrack    only `ct state established,related accept`: the cost of connection tracking,
 *                which any stateful filter (ours and naive alike) pays, shown on its own;
 *   ours         our nftables table, rendered for a model of 10,000 endpoints in 200 groups of 50
 *                (Rancher `between: groupBy`, default deny; 50 model hosts, 200 endpoints each).
 *                Client and server are members of the same group on the rendered host; the other
 *                9,998 addresses exist only in the rules. Applied over SSH like any apply;
 *   docker       a container host with no policy: the rules dockerd installs (NAT, its FORWARD
 *                chains, the conntrack rule; see `containerHostRules`), which track connections;
 *   docker-ours  the same host with our table added: what a user's host pays for the policy;
 *   naive-*      one iptables ACCEPT per allowed (source, destination) pair in FORWARD, policy
 *                DROP, conntrack first (see naive-iptables.ts): every pair of the network with the
 *                measured pair last (worst case) or in the middle, and only the pairs whose
 *                destination lives on the host (what a per-host naive generator would load).
 *
 * Both ends run on one CPU (see `pinned`). Each round measures, per setup in turn (order rotated per round), new TCP connections per second
 * (connect-rate.py: connect, wait for the listener's close, reset) and iperf3 throughput; medians
 * are printed. Many short interleaved samples rather than a few long ones: on a shared 2-core
 * machine the load of other processes swings within seconds, and interleaving spreads it evenly
 * over the setups. Targets: docker-ours ≥ 0.9 × docker for both, and ours better than naive. The
 * ratio ours / none (a bare namespace that tracks no connections) is printed beside them.
 */
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { Analyzer } from "../provider/analyze/reach";
import { parseProbe } from "../provider/analyze/probe";
import { compile } from "../provider/compile";
import { parseModel } from "../provider/model/model";
import { Renderer } from "../provider/render";
import { applyHost } from "../provider/targets/ssh";
import { Lab } from "../test/lab/lab";
import { measure } from "./compile";
import { fleet } from "./generate";
import { machineLoad, median, seconds, trackChild, verdict, withLab } from "./lab-support";
import { Pair, groupPairs, naiveRuleset } from "./naive-iptables";

export interface PacketOptions {
  rounds?: number;
  seconds?: number;
}

const PYTHON = "/usr/bin/python3";
const CONNECT_RATE = path.join(__dirname, "connect-rate.py");
const CONNECT_PORT = 8080;
const IPERF_PORT = 5201;
const MODEL_ENDPOINTS = 10_000;
const MODEL_GROUPS = 200;
const GROUP_LABEL = "com.rancher.department";

type SetupKey = "none" | "conntrack" | "ours" | "docker" | "docker-ours" | "naive-end" | "naive-middle" | "naive-local";
const SETUPS: readonly SetupKey[] = ["none", "conntrack", "ours", "docker", "docker-ours", "naive-end", "naive-middle", "naive-local"];

interface Setup {
  key: SetupKey;
  label: string;
  /** What the host's filter holds, e.g. "490,001 rules". */
  size: string;
  connRates: number[];
  failures: number;
  gbits: number[];
}

const client = (setup: SetupKey): string => `${setup}/client`;
const server = (setup: SetupKey): string => `${setup}/server`;

export async function packetBench(options: PacketOptions = {}): Promise<boolean> {
  const rounds = options.rounds ?? 9;
  const secs = Math.max(1, Math.round(options.seconds ?? 1));
  console.log(`\n== packet: new TCP connections/s and iperf3 throughput, client → server through a lab host's forward path`);
  const spec = {
    hosts: SETUPS.map((name) => ({ name })),
    endpoints: SETUPS.flatMap((s) => [
      { name: client(s), host: s },
      { name: server(s), host: s },
    ]),
    ipv6: false,
  };
  return withLab(spec, async (lab) => {
    const setups = new Map<SetupKey, Setup>();
    const add = (key: SetupKey, label: string, size: string): void => {
      setups.set(key, { key, label, size, connRates: [], failures: 0, gbits: [] });
    };
    add("none", "no policy", "empty");
    add("conntrack", "no policy, connection tracking on", await installConntrackOnly(lab));
    const oursLabel = `ours: nftables, ${MODEL_ENDPOINTS.toLocaleString("en")} endpoints / ${MODEL_GROUPS} groups`;
    add("ours", oursLabel, await installOurs(lab, "ours"));
    add("docker", "container host, no policy", await installContainerHost(lab, "docker"));
    await installContainerHost(lab, "docker-ours");
    add("docker-ours", `container host + ${oursLabel}`, `Docker's rules + ${await installOurs(lab, "docker-ours")}`);
    for (const [key, which, placement, label] of [
      ["naive-end", "all", "end", "naive: every allowed pair, measured pair last"],
      ["naive-middle", "all", "middle", "naive: every allowed pair, measured pair in the middle"],
      ["naive-local", "local", "end", "naive: pairs into this host's endpoints only, measured pair last"],
    ] as const) {
      const pairs = naivePairs(lab, key);
      add(key, label, await installNaive(lab, key, pairs[which], pairs.measured, placement));
    }

    const stopServers: Array<() => void> = [];
    try {
      for (const s of SETUPS) stopServers.push(startIperfServer(lab, s), await startConnectServer(lab, s));
      await Promise.all(SETUPS.map((s) => waitForIperf(lab, s)));
      console.log(`  ${rounds} round(s) of ${secs} s per measurement; setups measured one at a time, order rotated per round`);
      for (let r = 0; r < rounds; r++) {
        const order = SETUPS.map((_, i) => SETUPS[(i + r) % SETUPS.length]);
        for (const key of order) {
          const setup = setups.get(key);
          if (!setup) continue;
          const rate = await connectRate(lab, key, secs);
          setup.connRates.push(rate.perSecond);
          setup.failures += rate.failures;
          setup.gbits.push(await throughput(lab, key, secs));
        }
        process.stdout.write(`  round ${r + 1}/${rounds} done (${machineLoad()})\n`);
      }
    } finally {
      stopServers.forEach((stop) => stop());
    }
    return report([...setups.values()]);
  });
}

/** The 10,000-endpoint model with the measured pair (same group) on model host h0, at the lab's addresses. */
function packetModel(clientIp: string, serverIp: string) {
  const doc = fleet({ endpoints: MODEL_ENDPOINTS, hosts: 50, groups: MODEL_GROUPS, kubernetesPolicies: 0 });
  const endpoints = doc.endpoints ?? [];
  // Hosts hold blocks of 200 and groups stride 200, so endpoint 200 shares endpoint 0's group; it
  // moves onto h0 beside it. Fleet addresses (10.64.0.0/10) are never routed in the lab.
  endpoints[0] = { ...endpoints[0], ips: [serverIp] };
  endpoints[MODEL_GROUPS] = { ...endpoints[MODEL_GROUPS], ips: [clientIp], host: "h0" };
  return {
    doc: { ...doc, endpoints, network: { defaultPolicyAction: "deny" as const, policy: [{ between: { groupBy: GROUP_LABEL }, action: "allow" as const }] } },
    serverName: endpoints[0].name,
    clientName: endpoints[MODEL_GROUPS].name,
  };
}

/** A table whose only rule accepts established flows: turns connection tracking on in the host. */
async function installConntrackOnly(lab: Lab): Promise<string> {
  const table = ["table inet bench_conntrack {", "\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;", "\t\tct state established,related accept", "\t}", "}", ""];
  await lab.exec("conntrack", ["nft", "-f", "-"], { stdin: table.join("\n") });
  return "1 rule (ct state established,related accept)";
}

/**
 * The rules dockerd installs for a bridge network (iptables backend, as `iptables-save` shows them
 * on a Docker host), with the bridge `docker0` replaced by the lab's endpoint links (`v+`) and the
 * bridge subnet by the host's endpoint prefix: NAT for containers' outbound traffic, FORWARD policy
 * DROP with Docker's chains, and the conntrack rule for replies. This is what a container host of
 * our users carries before any policy; the NAT and the conntrack match turn on connection tracking.
 */
export function containerHostRules(endpointPrefix: string): string {
  return [
    "*nat",
    ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":DOCKER - [0:0]",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
    `-A POSTROUTING -s ${endpointPrefix} ! -o v+ -j MASQUERADE`,
    "-A DOCKER -i v+ -j RETURN",
    "COMMIT",
    "*filter",
    ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
    ":DOCKER - [0:0]", ":DOCKER-ISOLATION-STAGE-1 - [0:0]", ":DOCKER-ISOLATION-STAGE-2 - [0:0]", ":DOCKER-USER - [0:0]",
    "-A FORWARD -j DOCKER-USER",
    "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
    "-A FORWARD -o v+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A FORWARD -o v+ -j DOCKER",
    "-A FORWARD -i v+ ! -o v+ -j ACCEPT",
    "-A FORWARD -i v+ -o v+ -j ACCEPT",
    "-A DOCKER-ISOLATION-STAGE-1 -i v+ ! -o v+ -j DOCKER-ISOLATION-STAGE-2",
    "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
    "-A DOCKER-ISOLATION-STAGE-2 -o v+ -j DROP",
    "-A DOCKER-ISOLATION-STAGE-2 -j RETURN",
    "-A DOCKER-USER -j RETURN",
    "COMMIT",
    "",
  ].join("\n");
}

async function installContainerHost(lab: Lab, setup: SetupKey): Promise<string> {
  const prefix = lab.endpoint(server(setup)).ipv4.replace(/\.\d+$/, ".0/24");
  await lab.exec(setup, ["iptables-restore"], { stdin: containerHostRules(prefix) });
  return "Docker's rules (NAT, FORWARD chains, conntrack)";
}

async function installOurs(lab: Lab, setup: "ours" | "docker-ours"): Promise<string> {
  const { doc, serverName, clientName } = packetModel(lab.endpoint(client(setup)).ipv4, lab.endpoint(server(setup)).ipv4);
  const t0 = performance.now();
  const policySet = compile(parseModel(doc));
  const ruleset = new Renderer(policySet).renderHost("h0");
  const renderMs = performance.now() - t0;
  const probe = parseProbe(`tcp/${IPERF_PORT}`);
  if (typeof probe === "string") throw new Error(probe);
  if (!new Analyzer(policySet).reach(clientName, serverName, probe).allowed) throw new Error("packet: the model does not allow the measured pair");
  const info = lab.hostSsh(setup);
  const t1 = performance.now();
  await applyHost({ host: info.host, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey }, ruleset, { rollbackTimerSec: 120 });
  const size = measure(ruleset.nft ?? "");
  console.log(`  ${setup}: compile + render ${seconds(renderMs)}, applied over SSH in ${seconds(performance.now() - t1)}`);
  return `${size.rules} rules in ${size.chains} chains, ${size.setElements.toLocaleString("en")} set elements, ${size.mapElements} dispatch entries`;
}

/** The allowed pairs of the same model as `ours`, with the measured pair at this setup's lab addresses. */
function naivePairs(lab: Lab, setup: SetupKey): { all: Pair[]; local: Pair[]; measured: Pair } {
  const measured = { src: lab.endpoint(client(setup)).ipv4, dst: lab.endpoint(server(setup)).ipv4 };
  const { doc } = packetModel(measured.src, measured.dst);
  const members = new Map<string, string[]>();
  const localIps = new Set<string>();
  for (const e of doc.endpoints) {
    const group = e.labels?.[GROUP_LABEL];
    if (group === undefined) continue;
    const list = members.get(group) ?? [];
    list.push(...e.ips);
    members.set(group, list);
    if (e.host === "h0") e.ips.forEach((ip) => localIps.add(ip));
  }
  const all = groupPairs(members);
  return { all, local: all.filter((p) => localIps.has(p.dst)), measured };
}

async function installNaive(lab: Lab, setup: SetupKey, pairs: readonly Pair[], measured: Pair, placement: "end" | "middle"): Promise<string> {
  const { text, rules } = naiveRuleset(pairs, measured, placement);
  const t0 = performance.now();
  await lab.exec(setup, ["iptables-restore"], { stdin: text, timeoutMs: 600_000 });
  console.log(`  ${setup}: iptables-restore of ${rules.toLocaleString("en")} rules (${(text.length / 1048576).toFixed(1)} MiB) took ${seconds(performance.now() - t0)}`);
  return `${rules.toLocaleString("en")} rules`;
}

/**
 * Every program of the measurement (both ends) runs on one CPU: with client and server on
 * different CPUs, each round trip waits for a cross-CPU wake-up, which on this VM costs more than
 * the whole network path and swings with the machine's idle state (5x fewer connections/s, far
 * noisier). On one CPU the figures follow what the path costs, filters included.
 */
const CPU = String(os.cpus().length - 1);
const pinned = (argv: readonly string[]): string[] => ["taskset", "-c", CPU, ...argv];

function inServer(lab: Lab, setup: SetupKey, argv: readonly string[]) {
  return spawn("ip", ["netns", "exec", lab.endpoint(server(setup)).netns, ...pinned(argv)], { stdio: ["ignore", "pipe", "pipe"] });
}

function startIperfServer(lab: Lab, setup: SetupKey): () => void {
  const child = inServer(lab, setup, ["iperf3", "-s", "-p", String(IPERF_PORT)]);
  child.stdout.resume();
  child.stderr.resume();
  return trackChild(child);
}

/** The accept-and-close listener of connect-rate.py; resolves once it listens. */
async function startConnectServer(lab: Lab, setup: SetupKey): Promise<() => void> {
  const child = inServer(lab, setup, [PYTHON, CONNECT_RATE, "serve", String(CONNECT_PORT)]);
  const stop = trackChild(child);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`packet: listener in ${server(setup)} not ready in 10 s: ${stderr}`)), 10_000);
      child.stdout.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`packet: listener in ${server(setup)} exited with ${code}: ${stderr}`));
      });
    });
  } catch (err) {
    stop();
    throw err;
  }
  child.stdout.resume();
  return stop;
}

/** Polls until the iperf3 server accepts a test (a 1-byte transfer), at most 10 s. */
async function waitForIperf(lab: Lab, setup: SetupKey): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await lab.execEndpoint(client(setup), ["iperf3", "-c", lab.endpoint(server(setup)).ipv4, "-p", String(IPERF_PORT), "-n", "1", "-J"], { check: false });
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`packet: iperf3 server in ${server(setup)} not ready: ${r.stdout.slice(0, 300)}${r.stderr.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function connectRate(lab: Lab, setup: SetupKey, secs: number): Promise<{ perSecond: number; failures: number }> {
  const r = await lab.execEndpoint(client(setup), pinned([PYTHON, CONNECT_RATE, "connect", lab.endpoint(server(setup)).ipv4, String(CONNECT_PORT), String(secs)]));
  const out = JSON.parse(r.stdout) as { connections: number; failures: number; seconds: number };
  return { perSecond: out.connections / out.seconds, failures: out.failures };
}

interface IperfReport {
  end?: { sum_received?: { bits_per_second?: number } };
  error?: string;
}

async function throughput(lab: Lab, setup: SetupKey, secs: number): Promise<number> {
  const r = await lab.execEndpoint(client(setup), pinned(["iperf3", "-c", lab.endpoint(server(setup)).ipv4, "-p", String(IPERF_PORT), "-t", String(secs), "-J"]), { check: false });
  const out = JSON.parse(r.stdout || "{}") as IperfReport;
  const bps = out.end?.sum_received?.bits_per_second;
  if (r.code !== 0 || bps === undefined) throw new Error(`packet: iperf3 in ${setup} failed: ${out.error ?? r.stderr.trim()}`);
  return bps / 1e9;
}

/**
 * Ratio of two setups: the median of per-round ratios. Setups of one round run back to back, so
 * pairing them by round cancels most of the drift in machine load between rounds.
 */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]));
}

function report(setups: Setup[]): boolean {
  const range = (v: number[], digits: number): string => `${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)}`;
  const w = Math.max(...setups.map((s) => s.label.length));
  console.log(`\n  ${"setup".padEnd(w)}  ${"conn/s".padStart(7)} ${"(min-max)".padEnd(13)}  ${"Gbit/s".padStart(6)} ${"(min-max)".padEnd(12)}  filter on the host`);
  for (const s of setups) {
    const failed = s.failures > 0 ? `, ${s.failures} connection(s) timed out` : "";
    const conn = median(s.connRates).toFixed(0).padStart(7);
    const gbit = median(s.gbits).toFixed(2).padStart(6);
    console.log(`  ${s.label.padEnd(w)}  ${conn} ${`(${range(s.connRates, 0)})`.padEnd(13)}  ${gbit} ${`(${range(s.gbits, 2)})`.padEnd(12)}  ${s.size}${failed}`);
  }
  const find = (key: SetupKey) => setups.find((s) => s.key === key);
  const ratios = (a: Setup, b: Setup) => ({ conn: pairedRatio(a.connRates, b.connRates), gbit: pairedRatio(a.gbits, b.gbits) });
  const line = (name: string, r: { conn: number; gbit: number }, note: string) =>
    console.log(`  ${name.padEnd(38)} conn/s ${r.conn.toFixed(2).padStart(6)}, throughput ${r.gbit.toFixed(2)}   ${note}`);
  console.log("\n  ratios (median of per-round ratios):");
  let ok = true;
  // The target: what adding our policy costs a host as our users run it. A container host tracks
  // connections before any policy (Docker's NAT), so "no policy" there is Docker's rules alone.
  const docker = find("docker");
  const dockerOurs = find("docker-ours");
  if (docker && dockerOurs) {
    const r = ratios(dockerOurs, docker);
    const met = r.conn >= 0.9 && r.gbit >= 0.9;
    ok = ok && met;
    line("ours / no policy, container host", r, `target ≥ 0.90 for both: ${verdict(met)}`);
  }
  const ours = find("ours");
  const none = find("none");
  if (!ours || !none) return false;
  const bare = ratios(ours, none);
  const bareMet = bare.conn >= 0.9 && bare.gbit >= 0.9;
  line("ours / no policy, bare namespace", bare, bareMet ? "≥ 0.90 for both" : "below 0.90: this host tracks no connections at all (see README)");
  const tracked = find("conntrack");
  if (tracked) line("ours / conntrack only, bare namespace", ratios(ours, tracked), "what our rules cost beyond connection tracking");
  // Conntrack lets established traffic skip the naive list, so bulk throughput is on par and the
  // pair list shows in the connection rate. "Better": more conn/s, throughput within the 10 % noise.
  for (const key of ["naive-end", "naive-middle", "naive-local"] as const) {
    const naive = find(key);
    if (!naive) continue;
    const r = ratios(ours, naive);
    const better = r.conn > 1 && r.gbit >= 0.9;
    ok = ok && better;
    line(`ours / ${key}`, r, `better (more conn/s, throughput ≥ 0.90×): ${verdict(better)}`);
  }
  console.log(`  measured under ${machineLoad()}`);
  return ok;
}
