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
import { Lab } from "../lab/lab";
import { observeSsh } from "../../provider/targets/ssh";
import { matrixDifferences } from "./lab-model";
import { WatchRun, dockerEventsChains, dockerWatchLab, endWatchLab, expectStoppedInSync, listen, stack } from "./watch-run";

const PROBE = "tcp/80";
let lab: Lab;
let dir: string;
let file: string;
/** Every command sent to a host, by host and step, in order, and every SSH connection opened (step "connect") (observeSsh). */
const steps: { host: string; step: string }[] = [];
let unobserve: () => void = () => undefined;
let watch: WatchRun;

beforeAll(async () => {
  ({ lab, dir, file } = await dockerWatchLab("watch-iptables", { backend: "iptables" }, { connectTimeoutMs: 2000 }));
  unobserve = observeSsh({ sessionOpened: (host) => { steps.push({ host, step: "connect" }); }, commandStarted: (host, step) => { steps.push({ host, step }); } });
  watch = new WatchRun(file, dir);
}, 180_000);

afterAll(async () => {
  unobserve();
  await endWatchLab(watch, { lab, dir, file });
}, 120_000);

const differences = () => matrixDifferences(lab, file, [PROBE], { reach: { allowStderr: true } });
/** The FORWARD rules of a host, in order. */
const forward = async (host: string) => (await lab.exec(host, ["iptables", "-S", "FORWARD"])).stdout.split("\n").filter((l) => l.startsWith("-A FORWARD"));

test("the first converge applies the running containers; a burst is applied from the record and the matrix equals reach", async () => {
  await watch.until("web0 and db0 applied", () => watch.printed(0, "d1", "+", "web0") && watch.printed(0, "d2", "+", "db0"));
  expect(await differences()).toEqual([]);
  const from = watch.out.length;
  const stepsFrom = steps.length;
  await lab.runContainer({ name: "a1", host: "d1", labels: stack("store"), listen });
  await lab.runContainer({ name: "a2", host: "d2", labels: stack("shop"), listen });
  await lab.removeContainer("db0");
  await watch.until("a1, a2 and - db0 printed", () => watch.printed(from, "d1", "+", "a1") && watch.printed(from, "d2", "+", "a2") && watch.printed(from, "d2", "-", "db0"));
  const applied = steps.slice(stepsFrom);
  expect(await differences()).toEqual([]);
  // The changes went in as deltas (iptables-incremental.ts), never as the full ruleset's restore.
  const sent = applied.map((s) => s.step.split(", "));
  expect(sent.filter((s) => s.includes("iptables-restore (changed chains)")).length).toBeGreaterThanOrEqual(2);
  expect(sent.some((s) => s.includes("iptables-restore"))).toBe(false);
  // Each apply ran on the host's event stream connection: the only connections opened are the confirms'.
  for (const host of ["d1", "d2"]) {
    const of = applied.filter((s) => s.host === host).map((s) => s.step);
    expect(of.filter((s) => s === "confirm and disarm").length).toBeGreaterThanOrEqual(1);
    expect(of.filter((s) => s === "connect").length).toBe(of.filter((s) => s === "confirm and disarm").length);
  }
}, 120_000);

test("after the SSH connection is cut, watch reconnects, reads the host again and converges", async () => {
  const from = watch.out.length;
  const errFrom = watch.err.length;
  const [chain] = dockerEventsChains(lab, "d1");
  expect(chain).toBeDefined();
  process.kill(chain[0], "SIGKILL");
  await lab.runContainer({ name: "b1", host: "d1", labels: stack("shop"), listen });
  await watch.until("b1 printed", () => watch.printed(from, "d1", "+", "b1"));
  expect(watch.streamStopped(errFrom, "d1")).toBe(true);
  await watch.until("d1 followed again", () => dockerEventsChains(lab, "d1").length === 1);
  expect(await differences()).toEqual([]);
}, 90_000);

test("after dockerd restarts (its DOCKER-USER jump back in front), watch's converge puts the network's chain in front again", async () => {
  const from = watch.out.length;
  const errFrom = watch.err.length;
  const stepsFrom = steps.length;
  expect((await forward("d2"))[0]).toMatch(/^-A FORWARD -j NETPOL_/);
  await lab.restartDockerd("d2");
  await watch.until("the stream's end reported", () => watch.streamStopped(errFrom, "d2"));
  await lab.runContainer({ name: "c1", host: "d2", labels: stack("store"), listen });
  await watch.until("c1 printed", () => watch.printed(from, "d2", "+", "c1"));
  await watch.until("d2 followed again", () => dockerEventsChains(lab, "d2").length === 1);
  // The live rules were not the record's any more (the hook moved): a full apply, which hooks in again.
  expect(steps.slice(stepsFrom).some((s) => s.host === "d2" && s.step.split(", ").includes("hook into FORWARD"))).toBe(true);
  expect((await forward("d2"))[0]).toMatch(/^-A FORWARD -j NETPOL_/);
  expect(await differences()).toEqual([]);
}, 120_000);

test("stopping watch while an apply runs on the stream's connection lets that apply finish: exit 0, both hosts in sync", async () => {
  const from = watch.out.length;
  const stepsFrom = steps.length;
  await lab.runContainer({ name: "g1", host: "d2", labels: stack("shop"), listen });
  await watch.until("d2's apply started", () => steps.slice(stepsFrom).some((s) => s.host === "d2" && s.step === "lock table"), 30_000);
  // Stopping ends the event streams; the connection the apply runs on stays open until it is done.
  await expectStoppedInSync(watch, file);
  expect(watch.printed(from, "d2", "+", "g1")).toBe(true);
}, 60_000);
