/**
 * `netpol watch` on real Docker hosts (test/lab/docker.ts, routed topology): while 20 containers
 * are started and removed in bursts, the measured matrix (real packets from inside the containers)
 * equals `netpol reach` of the discovered model after each burst settles; after the SSH connection
 * serving the watch is cut (its sshd child killed by pid), watch reconnects, reads the host again
 * and converges; the same after a dockerd restart; a host that goes silent (its sshd stopped by
 * pid) is noticed by keepalives, reported and retried while the other host's changes go on;
 * stopping it leaves every host in sync; as a child process, SIGINT ends it with exit 0 and
 * nothing half-applied, and `--once` converges as apply does. Needs root and docker.io; under
 * CI=true a machine without them fails here, never skips.
 */
import { Lab } from "../lab/lab";
import { runCli } from "../support/cli";
import { spawnCli } from "../targets/ssh/support";
import { matrixDifferences } from "./lab-model";
import { WatchRun, dockerEventsChains, dockerWatchLab, endWatchLab, expectStoppedInSync, listen, stack } from "./watch-run";

const PROBE = "tcp/80";
let lab: Lab;
let dir: string;
let file: string;
let watch: WatchRun;

beforeAll(async () => {
  // Short keepalives and connect timeout: the silent-host case below waits for them.
  ({ lab, dir, file } = await dockerWatchLab("watch", {}, { keepaliveIntervalMs: 300, connectTimeoutMs: 2000 }));
  watch = new WatchRun(file, dir);
}, 180_000);

afterAll(async () => {
  await endWatchLab(watch, { lab, dir, file });
}, 120_000);


/** The cells where the measured matrix differs from `netpol reach` of the watched model (empty: none). */
const differences = () => matrixDifferences(lab, file, [PROBE], { reach: { allowStderr: true } });

type Op = ["+", string, "d1" | "d2", string] | ["-", string];
const BURSTS: Op[][] = [
  [["+", "a1", "d1", "shop"], ["+", "a2", "d2", "shop"], ["+", "a3", "d1", "store"], ["+", "a4", "d2", "store"], ["+", "a5", "d1", "shop"]],
  [["-", "a1"], ["-", "a4"], ["+", "a6", "d2", "store"], ["-", "web0"], ["+", "a7", "d1", "store"]],
  [["-", "a2"], ["-", "a3"], ["+", "a8", "d2", "shop"], ["+", "a9", "d1", "shop"], ["-", "a6"]],
  [["+", "a10", "d2", "store"], ["-", "a5"], ["-", "a7"], ["+", "a11", "d1", "store"], ["+", "a12", "d2", "shop"]],
];

test("the first converge applies the running containers", async () => {
  await watch.until("web0 and db0 applied", () => watch.printed(0, "d1", "+", "web0") && watch.printed(0, "d2", "+", "db0"));
  expect(watch.out[0]).toMatch(/^d[12]: \+ (web0|db0) 10\.\d+\.\d+\.\d+ \(a class of its own\) in \d+ ms$/);
  expect(await differences()).toEqual([]);
}, 60_000);

test.each(BURSTS.map((ops, i) => [i + 1, ops] as const))("burst %i: the matrix equals reach once it settled", async (_n, ops) => {
  const from = watch.out.length;
  const hostOf = new Map(lab.containers.map((c) => [c.name, c.host]));
  for (const op of ops) {
    if (op[0] === "+") await lab.runContainer({ name: op[1], host: op[2], labels: stack(op[3]), listen });
    else await lab.removeContainer(op[1]);
  }
  for (const op of ops) {
    const host = op[0] === "+" ? op[2] : (hostOf.get(op[1]) as string);
    await watch.until(`${op[0]} ${op[1]} printed`, () => watch.printed(from, host, op[0], op[1]));
  }
  expect(await differences()).toEqual([]);
}, 90_000);

/** The direct child of the host's sshd whose process tree runs `docker events` (the watch's connection). */
function watchConnection(host: string): number {
  return watchChain(host)[0];
}


/** The processes between the host's sshd and the watch's `docker events`: that child first, the command's parent last. */
function watchChain(host: string): number[] {
  const found = dockerEventsChains(lab, host);
  if (found.length !== 1) throw new Error(`expected one watch connection on ${host}, found ${found.length}`);
  return found[0];
}

test("after the SSH connection is cut, watch reconnects, reads the host again and converges", async () => {
  const from = watch.out.length;
  const errFrom = watch.err.length;
  process.kill(watchConnection("d1"), "SIGKILL");
  // A container that starts while the stream is down is found by the full read after the reconnect.
  await lab.runContainer({ name: "b1", host: "d1", labels: stack("store"), listen });
  await watch.until("b1 printed", () => watch.printed(from, "d1", "+", "b1"));
  expect(watch.streamStopped(errFrom, "d1")).toBe(true);
  // b1 may come from the full read after the reconnect, before the new stream is up: wait for it.
  await watch.until("d1 followed again", () => dockerEventsChains(lab, "d1").length === 1);
  expect(watchConnection("d1")).toBeGreaterThan(0);
  expect(await differences()).toEqual([]);
}, 90_000);

test("after dockerd restarts, watch follows the new daemon and converges", async () => {
  const from = watch.out.length;
  const errFrom = watch.err.length;
  await lab.restartDockerd("d2");
  await watch.until("the stream's end reported", () => watch.streamStopped(errFrom, "d2"));
  await lab.runContainer({ name: "c1", host: "d2", labels: stack("shop"), listen });
  await watch.until("c1 printed", () => watch.printed(from, "d2", "+", "c1"));
  // While the new dockerd starts, `docker events` may fail and be retried (with backoff) after a
  // full read has already found c1: the stream is followed again once the daemon answers.
  await watch.until("d2 followed again", () => dockerEventsChains(lab, "d2").length === 1);
  expect(watchConnection("d2")).toBeGreaterThan(0);
  expect(await differences()).toEqual([]);
}, 120_000);

test("a host that goes silent is reported and retried while the other host goes on", async () => {
  const from = watch.out.length;
  const errFrom = watch.err.length;
  // d2 stops answering without closing anything: its listening sshd and the watch's session stopped (SIGSTOP, by pid).
  const silent = [lab.sshdPid("d2"), ...watchChain("d2")];
  for (const pid of silent) process.kill(pid, "SIGSTOP");
  try {
    // The keepalives (keepaliveIntervalMs: 300 in the model) notice it: the stream ends.
    await watch.until("d2's silence reported", () => watch.streamStopped(errFrom, "d2"), 15_000);
    await lab.runContainer({ name: "e1", host: "d1", labels: stack("shop"), listen });
    await watch.until("e1 printed", () => watch.printed(from, "d1", "+", "e1"), 60_000);
    await watch.until("d2's apply or reconnect failure reported", () => watch.err.slice(errFrom).some((l) => /^d2: (cannot follow docker events|apply failed): .*; retrying in \d+ ms$/.test(l)), 30_000);
  } finally {
    for (const pid of silent) process.kill(pid, "SIGCONT");
  }
  // Back: d2 is followed again and gets e1 (a shop container) into its rules.
  await watch.until("d2 followed again", () => { try { return watchConnection("d2") > 0; } catch { return false; } }, 60_000);
  const settle = Date.now() + 30_000;
  let diff = await differences();
  while (diff.length > 0 && Date.now() < settle) {
    await new Promise((r) => setTimeout(r, 500));
    diff = await differences();
  }
  expect(diff).toEqual([]);
}, 180_000);

test("stopping watch exits 0 and leaves every host in sync", () => expectStoppedInSync(watch, file), 60_000);

test("as a process: SIGINT stops it with exit 0 and nothing half-applied; --once then converges like apply", async () => {
  const child = spawnCli(["watch", file]);
  try {
    // Its first converge prints every running container.
    await child.stdoutMatching(/^d2: \+ c1 /m, 90_000);
    await lab.runContainer({ name: "f1", host: "d2", labels: stack("shop"), listen });
    process.kill(child.child.pid as number, "SIGINT");
    expect(await child.ended).toEqual({ code: 0, signal: null });
  } finally {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
  }
  // Each host is either in sync (f1 applied before the stop) or out of date (not yet): never drifted or half-written.
  const before = await runCli(["status", file]);
  for (const h of ["d1", "d2"]) expect(before.out).toMatch(new RegExp(`^${h}: (in sync|out of date)`, "m"));
  expect(before.out).not.toMatch(/drift/);
  const once = await runCli(["watch", file, "--once"]);
  expect(once.code).toBe(0);
  expect(once.out).toMatch(/^apply: 2 host\(s\), \d+ changed, \d+ up to date$/m);
  // What --once did is what apply does: a second apply finds nothing to do.
  expect((await runCli(["apply", file])).out).toMatch(/^apply: 2 host\(s\), 0 changed, 2 up to date$/m);
  const after = await runCli(["status", file]);
  expect(after.out).toContain("d1: in sync");
  expect(after.out).toContain("d2: in sync");
  expect(await differences()).toEqual([]);
}, 180_000);
