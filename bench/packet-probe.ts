/**
 * The measuring side of the packet benchmark: the listeners in the server's network namespace and
 * the two measurements run from the client's (new TCP connections per second, iperf3
 * throughput). A party is a lab endpoint (entered with `ip netns exec`) or a container on a Docker
 * lab host (entered with `nsenter -n -t PID`: only its network namespace, so the machine's
 * python3 and iperf3 run there and the image stays minimal).
 */
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { Lab } from "../test/lab/lab";
import { run } from "../test/lab/run";
import { trackChild } from "./lab-support";

const PYTHON = "/usr/bin/python3";
const CONNECT_RATE = path.join(__dirname, "connect-rate.py");
export const CONNECT_PORT = 8080;
export const IPERF_PORT = 5201;

/** One end of a measurement: its name, address and how to run a program in its network namespace. */
export interface Party {
  name: string;
  ipv4: string;
  enter: string[];
}

export function endpointParty(lab: Lab, name: string): Party {
  const e = lab.endpoint(name);
  return { name, ipv4: e.ipv4, enter: ["ip", "netns", "exec", e.netns] };
}

export function containerParty(lab: Lab, name: string): Party {
  const c = lab.container(name);
  return { name, ipv4: c.ipv4, enter: ["nsenter", "-n", "-t", String(c.pid), "--"] };
}

/**
 * Every program of the measurement (both ends) runs on one CPU: with client and server on
 * different CPUs, each round trip waits for a cross-CPU wake-up, which on this VM costs more than
 * the whole network path and swings with the machine's idle state (5x fewer connections/s, far
 * noisier). On one CPU the figures follow what the path costs, filters included.
 */
const CPU = String(os.cpus().length - 1);
const pinned = (argv: readonly string[]): string[] => ["taskset", "-c", CPU, ...argv];

function inParty(party: Party, argv: readonly string[]) {
  const [cmd, ...rest] = [...party.enter, ...pinned(argv)];
  return spawn(cmd, rest, { stdio: ["ignore", "pipe", "pipe"] });
}

export function startIperfServer(server: Party): () => void {
  const child = inParty(server, ["iperf3", "-s", "-p", String(IPERF_PORT)]);
  child.stdout.resume();
  child.stderr.resume();
  return trackChild(child);
}

/** The accept-and-close listener of connect-rate.py; resolves once it listens. */
export async function startConnectServer(server: Party): Promise<() => void> {
  const child = inParty(server, [PYTHON, CONNECT_RATE, "serve", String(CONNECT_PORT)]);
  const stop = trackChild(child);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`packet: listener in ${server.name} not ready in 10 s: ${stderr}`)), 10_000);
      child.stdout.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`packet: listener in ${server.name} exited with ${code}: ${stderr}`));
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
export async function waitForIperf(client: Party, server: Party): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await run([...client.enter, "iperf3", "-c", server.ipv4, "-p", String(IPERF_PORT), "-n", "1", "-J"], { check: false });
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`packet: iperf3 server in ${server.name} not ready: ${r.stdout.slice(0, 300)}${r.stderr.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

export async function connectRate(client: Party, server: Party, secs: number): Promise<{ perSecond: number; failures: number }> {
  const r = await run([...client.enter, ...pinned([PYTHON, CONNECT_RATE, "connect", server.ipv4, String(CONNECT_PORT), String(secs)])], { timeoutMs: 60_000 });
  const out = JSON.parse(r.stdout) as { connections: number; failures: number; seconds: number };
  return { perSecond: out.connections / out.seconds, failures: out.failures };
}

interface IperfReport {
  end?: { sum_received?: { bits_per_second?: number } };
  error?: string;
}

/** One iperf3 TCP stream of `secs` seconds; Gbit/s received. */
export async function throughput(client: Party, server: Party, secs: number): Promise<number> {
  const r = await run([...client.enter, ...pinned(["iperf3", "-c", server.ipv4, "-p", String(IPERF_PORT), "-t", String(secs), "-J"])], { check: false, timeoutMs: 60_000 });
  const out = JSON.parse(r.stdout || "{}") as IperfReport;
  const bps = out.end?.sum_received?.bits_per_second;
  if (r.code !== 0 || bps === undefined) throw new Error(`packet: iperf3 ${client.name} → ${server.name} failed: ${out.error ?? r.stderr.trim()}`);
  return bps / 1e9;
}
