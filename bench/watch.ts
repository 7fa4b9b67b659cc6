/**
 * `npm run bench -- watch`: how soon `netpol watch` has a new container's rules in place. Two routed
 * Docker lab hosts; `netpol watch` runs in-process; 20 containers are started one after another on
 * d2, alternately in the stack of d1's container "ref" (the policy lets it reach ref on tcp/80) and in
 * another stack (blocked). Per container: the time from `docker run` returning until watch has
 * printed its change line (its apply has finished), and for the allowed ones until the first probe
 * to ref passes; then the probe must say what the policy says. Target: median < 1 s. Also printed:
 * the same from the moment `docker run` was started (its own time included).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { main } from "../provider/cli";
import { observeSsh } from "../provider/targets/ssh";
import { requireDockerLabPrerequisites } from "../test/lab/lab";
import { machineLoad, median, seconds, verdict, withLab } from "./lab-support";

const COUNT = 20;
const stack = (project: string) => ({ "com.docker.compose.project": project, "com.docker.compose.service": "app" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function watchBench(): Promise<boolean> {
  console.log(`\n== watch: docker run → rules in place, ${COUNT} containers on two routed Docker lab hosts (${machineLoad()})`);
  await requireDockerLabPrerequisites();
  return withLab({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }],
    endpoints: [],
    containers: [{ name: "ref", host: "d1", labels: stack("shop"), listen: { tcp: [80] } }, { name: "other", host: "d2", labels: stack("store") }],
    ipv6: false,
  }, async (lab) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-bench-watch-"));
    fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
    const ssh = (host: string) => { const s = lab.hostSsh(host); return { host: s.host, port: s.port, user: "root", privateKeyPath: "./id_lab", hostKey: s.hostKey }; };
    const file = path.join(dir, "watch.yaml");
    fs.writeFileSync(file, stringify({
      name: "benchwatch",
      hosts: [{ name: "d1", discover: "docker", ssh: ssh("d1") }, { name: "d2", discover: "docker", ssh: ssh("d2") }],
      network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
    }));
    const lines: Array<{ at: number; text: string }> = [];
    // Where the time goes: every SSH connection and command watch starts, timestamped.
    const steps: Array<{ at: number; what: string }> = [];
    const unobserve = observeSsh({
      sessionOpened: (host) => steps.push({ at: performance.now(), what: `${host} connected` }),
      commandStarted: (host, step) => steps.push({ at: performance.now(), what: `${host} ${step}` }),
    });
    let stop: () => void = () => undefined;
    const watching = main(["watch", file], {
      out: (t) => { lines.push({ at: performance.now(), text: t }); }, err: (t) => { console.error(`  watch: ${t}`); }, write: () => undefined,
      env: process.env, cwd: dir, onStop: (h) => { stop = h; },
    });
    const lineFor = async (host: string, name: string, since: number): Promise<number> => {
      for (const deadline = performance.now() + 30_000; performance.now() < deadline; await sleep(5)) {
        const l = lines.find((x) => x.at >= since && x.text.startsWith(`${host}: + ${name} `));
        if (l) return l.at;
      }
      throw new Error(`watch printed no line for ${name} within 30 s`);
    };
    const applied: number[] = [];
    const fromRunStart: number[] = [];
    const timelines: string[][] = [];
    const reachable: number[] = [];
    const wrong: string[] = [];
    try {
      await lineFor("d1", "ref", 0);
      for (let i = 0; i < COUNT; i++) {
        const name = `w${i}`;
        const allowed = i % 2 === 0;
        const runStarted = performance.now();
        const t0 = (await lab.runContainer({ name, host: "d2", labels: stack(allowed ? "shop" : "store") })).startedAt;
        if (allowed) {
          while (!(await lab.probe(name, "ref", "tcp/80", { timeoutSec: 0.2 }))) if (performance.now() - t0 > 30_000) break;
          reachable.push(performance.now() - t0);
        }
        const printedAt = await lineFor("d2", name, runStarted);
        applied.push(printedAt - t0);
        fromRunStart.push(printedAt - runStarted);
        timelines.push(steps.filter((x) => x.at >= runStarted && x.at <= printedAt).map((x) => `${Math.round(x.at - runStarted)} ${x.what}`));
        if ((await lab.probe(name, "ref", "tcp/80", { timeoutSec: 1 })) !== allowed) wrong.push(`${name}: ${allowed ? "blocked, should pass" : "passes, should be blocked"}`);
      }
    } finally {
      unobserve();
      stop();
      await watching;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const stat = (xs: number[]) => `median ${seconds(median(xs))}, max ${seconds(Math.max(...xs))}`;
    console.log(`  docker run returned → watch line printed (apply done): ${stat(applied)}  (target: median < 1 s: ${verdict(median(applied) < 1000)})`);
    console.log(`  docker run returned → allowed container reaches ref (${reachable.length}): ${stat(reachable)}`);
    console.log(`  docker run started → watch line printed:               ${stat(fromRunStart)}`);
    console.log(`  probes after the apply as the policy says: ${wrong.length === 0 ? "all 20" : wrong.join("; ")}`);
    const middle = applied.indexOf([...applied].sort((a, b) => a - b)[Math.floor(applied.length / 2)]);
    console.log(`  the median container's steps (ms from the start of docker run; SSH connections and commands), w${middle}:`);
    for (const l of timelines[middle] ?? []) console.log(`    ${l}`);
    console.log(`    ${Math.round(fromRunStart[middle] - applied[middle])} docker run returned`);
    console.log(`    ${Math.round(fromRunStart[middle])} change line printed`);
    return median(applied) < 1000 && wrong.length === 0;
  });
}
