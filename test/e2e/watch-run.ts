/**
 * `netpol watch FILE` run in the test's own process (the CLI's `main`), for the watch suites on
 * Docker lab hosts: what it prints, a wait for a line, and the host-side processes of its
 * `docker events` connections.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Lab, requireDockerLabPrerequisites } from "../lab/lab";
import { sessionChains } from "../lab/sshd";
import { runCli } from "../support/cli";
import { main } from "../../provider/cli";

export const listen = { tcp: [80] };
/** The labels of a container of compose project `project`. */
export const stack = (project: string) => ({ "com.docker.compose.project": project, "com.docker.compose.service": "app" });

/** A watch suite's lab: its hosts, the folder of its model file (and the key that file names). */
export interface WatchLab {
  lab: Lab;
  dir: string;
  file: string;
}

/**
 * Two routed Docker lab hosts, d1 running web0 (project shop) and d2 db0 (project store), and a
 * model file that discovers both hosts' containers under stack isolation with default deny.
 * `host` gives each model host's fields beside `name`, `discover` and `ssh` (whose fields beyond
 * the lab's address, key and host key come from `ssh`).
 */
export async function dockerWatchLab(name: string, host: Record<string, unknown>, ssh: Record<string, unknown>): Promise<WatchLab> {
  await requireDockerLabPrerequisites();
  const lab = await Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }],
    endpoints: [],
    containers: [
      { name: "web0", host: "d1", labels: stack("shop"), listen },
      { name: "db0", host: "d2", labels: stack("store"), listen },
    ],
    ipv6: false,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `netpol-${name}-`));
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
  const sshOf = (h: string) => { const s = lab.hostSsh(h); return { host: s.host, port: s.port, user: "root", privateKeyPath: "./id_lab", hostKey: s.hostKey, ...ssh }; };
  const file = path.join(dir, "watch.yaml");
  fs.writeFileSync(file, stringify({
    name,
    hosts: ["d1", "d2"].map((h) => ({ name: h, ...host, discover: "docker", ssh: sshOf(h) })),
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
  }));
  return { lab, dir, file };
}

/** Stops watch as Ctrl-C does and expects exit 0 with both hosts in sync. */
export async function expectStoppedInSync(watch: WatchRun, file: string): Promise<void> {
  watch.stop();
  expect(await watch.ended).toBe(0);
  const status = await runCli(["status", file]);
  expect(status.out).toContain("d1: in sync");
  expect(status.out).toContain("d2: in sync");
  expect(status.code).toBe(0);
}

/** Stops watch, removes the network's rules from the hosts, tears the lab down. */
export async function endWatchLab(watch: WatchRun | undefined, at: Partial<WatchLab>): Promise<void> {
  watch?.stop();
  await watch?.ended;
  if (at.file) await runCli(["destroy", at.file]);
  await at.lab?.destroy();
  if (at.dir) fs.rmSync(at.dir, { recursive: true, force: true });
}

export class WatchRun {
  readonly out: string[] = [];
  readonly err: string[] = [];
  /** The exit code, once stopped. */
  readonly ended: Promise<number>;
  private stopper: () => void = () => undefined;

  constructor(file: string, cwd: string) {
    this.ended = main(["watch", file], {
      out: (t) => { this.out.push(t); }, err: (t) => { this.err.push(t); }, write: (t) => { this.out.push(t); }, env: process.env, cwd,
      onStop: (handler) => { this.stopper = handler; },
    });
  }

  /** What Ctrl-C does. */
  stop(): void {
    this.stopper();
  }

  /** Waits for `ok`, failing with everything watch printed. */
  async until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}\nstdout:\n${this.out.join("\n")}\nstderr:\n${this.err.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Watch has printed `host: sign name …` (after `from`, an index into out). */
  printed(from: number, host: string, sign: "+" | "-", name: string): boolean {
    return this.out.slice(from).some((l) => l.startsWith(`${host}: ${sign} ${name} `));
  }

  /** Watch has said on stderr, after `from`, that the host's event stream stopped and is retried. */
  streamStopped(from: number, host: string): boolean {
    return this.err.slice(from).some((l) => new RegExp(`^${host}: docker events stopped \\(.*\\); retrying in \\d+ ms$`).test(l));
  }
}

/** The processes between the host's sshd and a `docker events` it runs, one list per connection running it. */
export const dockerEventsChains = (lab: Lab, host: string): number[][] => sessionChains(lab.sshdPid(host), (cmdline) => /^docker events /.test(cmdline));
