/**
 * `netpol watch` on real Docker hosts whose backend is iptables + ipset (test/lab/docker.ts,
 * routed topology): the first converge and a burst of containers started and removed keep the
 * measured matrix (real packets from inside the containers) equal to `netpol reach` of the
 * discovered model, the changes applied incrementally from the host's record; after the SSH
 * connection serving the watch is cut (its sshd child killed by pid) watch reconnects and
 * converges; after dockerd restarts, which puts its DOCKER-USER jump in front of the network's
 * chain in FORWARD, watch's converge puts the chain back in front. The nftables side of the same
 * is test/e2e/docker-watch.test.ts. Needs root and docker.io; under CI=true a machine without
 * them fails here, never skips.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Lab, requireDockerLabPrerequisites } from "../lab/lab";
import { sessionChains } from "../lab/sshd";
import { runCli } from "../support/cli";
import { main } from "../../provider/cli";
import { observeSsh } from "../../provider/targets/ssh";
import { matrixDifferences } from "./lab-model";

const PROBE = "tcp/80";
const listen = { tcp: [80] };
const stack = (project: string) => ({ "com.docker.compose.project": project, "com.docker.compose.service": "app" });
let lab: Lab;
let dir: string;
let file: string;
const out: string[] = [];
const err: string[] = [];
/** Every command sent to a host, by host and step, in order (observeSsh). */
const steps: { host: string; step: string }[] = [];
let unobserve: () => void = () => undefined;
let stop: () => void = () => undefined;
let watching: Promise<number>;

beforeAll(async () => {
  await requireDockerLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }],
    endpoints: [],
    containers: [
      { name: "web0", host: "d1", labels: stack("shop"), listen },
      { name: "db0", host: "d2", labels: stack("store"), listen },
    ],
    ipv6: false,
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-watch-ipt-"));
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
  const ssh = (host: string) => { const s = lab.hostSsh(host); return { host: s.host, port: s.port, user: "root", privateKeyPath: "./id_lab", hostKey: s.hostKey, connectTimeoutMs: 2000 }; };
  file = path.join(dir, "watch.yaml");
  fs.writeFileSync(file, stringify({
    name: "watch-iptables",
    hosts: ["d1", "d2"].map((name) => ({ name, backend: "iptables", discover: "docker", ssh: ssh(name) })),
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
  }));
  unobserve = observeSsh({ commandStarted: (host, step) => { steps.push({ host, step }); } });
  watching = main(["watch", file], {
    out: (t) => { out.push(t); }, err: (t) => { err.push(t); }, write: (t) => { out.push(t); }, env: process.env, cwd: dir,
    onStop: (handler) => { stop = handler; },
  });
}, 180_000);

afterAll(async () => {
  unobserve();
  stop();
  await watching;
  if (file) await runCli(["destroy", file]);
  await lab?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 120_000);

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}\nstdout:\n${out.join("\n")}\nstderr:\n${err.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const printed = (from: number, host: string, sign: "+" | "-", name: string) => out.slice(from).some((l) => l.startsWith(`${host}: ${sign} ${name} `));
const differences = () => matrixDifferences(lab, file, [PROBE], { reach: { allowStderr: true } });
const watchChains = (host: string): number[][] => sessionChains(lab.sshdPid(host), (cmdline) => /^docker events /.test(cmdline));
/** The FORWARD rules of a host, in order. */
const forward = async (host: string) => (await lab.exec(host, ["iptables", "-S", "FORWARD"])).stdout.split("\n").filter((l) => l.startsWith("-A FORWARD"));

test("the first converge applies the running containers; a burst is applied from the record and the matrix equals reach", async () => {
  await until("web0 and db0 applied", () => printed(0, "d1", "+", "web0") && printed(0, "d2", "+", "db0"));
  expect(await differences()).toEqual([]);
  const from = out.length;
  const stepsFrom = steps.length;
  await lab.runContainer({ name: "a1", host: "d1", labels: stack("store"), listen });
  await lab.runContainer({ name: "a2", host: "d2", labels: stack("shop"), listen });
  await lab.removeContainer("db0");
  await until("a1, a2 and - db0 printed", () => printed(from, "d1", "+", "a1") && printed(from, "d2", "+", "a2") && printed(from, "d2", "-", "db0"));
  expect(await differences()).toEqual([]);
  // The changes went in as deltas (iptables-incremental.ts), never as the full ruleset's restore.
  const sent = steps.slice(stepsFrom).map((s) => s.step.split(", "));
  expect(sent.filter((s) => s.includes("iptables-restore (changed chains)")).length).toBeGreaterThanOrEqual(2);
  expect(sent.some((s) => s.includes("iptables-restore"))).toBe(false);
}, 120_000);

test("after the SSH connection is cut, watch reconnects, reads the host again and converges", async () => {
  const from = out.length;
  const errFrom = err.length;
  const [chain] = watchChains("d1");
  expect(chain).toBeDefined();
  process.kill(chain[0], "SIGKILL");
  await lab.runContainer({ name: "b1", host: "d1", labels: stack("shop"), listen });
  await until("b1 printed", () => printed(from, "d1", "+", "b1"));
  expect(err.slice(errFrom).some((l) => /^d1: docker events stopped \(.*\); retrying in \d+ ms$/.test(l))).toBe(true);
  await until("d1 followed again", () => watchChains("d1").length === 1);
  expect(await differences()).toEqual([]);
}, 90_000);

test("after dockerd restarts (its DOCKER-USER jump back in front), watch's converge puts the network's chain in front again", async () => {
  const from = out.length;
  const errFrom = err.length;
  const stepsFrom = steps.length;
  expect((await forward("d2"))[0]).toMatch(/^-A FORWARD -j NETPOL_/);
  await lab.restartDockerd("d2");
  await until("the stream's end reported", () => err.slice(errFrom).some((l) => /^d2: docker events stopped \(.*\); retrying in \d+ ms$/.test(l)));
  await lab.runContainer({ name: "c1", host: "d2", labels: stack("store"), listen });
  await until("c1 printed", () => printed(from, "d2", "+", "c1"));
  await until("d2 followed again", () => watchChains("d2").length === 1);
  // The live rules were not the record's any more (the hook moved): a full apply, which hooks in again.
  expect(steps.slice(stepsFrom).some((s) => s.host === "d2" && s.step.split(", ").includes("hook into FORWARD"))).toBe(true);
  expect((await forward("d2"))[0]).toMatch(/^-A FORWARD -j NETPOL_/);
  expect(await differences()).toEqual([]);
}, 120_000);

test("stopping watch exits 0 and leaves every host in sync", async () => {
  stop();
  expect(await watching).toBe(0);
  const status = await runCli(["status", file]);
  expect(status.out).toContain("d1: in sync");
  expect(status.out).toContain("d2: in sync");
  expect(status.code).toBe(0);
}, 60_000);
