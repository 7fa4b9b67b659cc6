/**
 * What the lab benchmarks share: the prerequisite check, a lab that is always torn down (also on
 * Ctrl-C), small statistics and the machine load printed next to every figure.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ChildProcess } from "node:child_process";
import { Lab, LabSpec, requireDockerLabPrerequisites, requireLabPrerequisites } from "../test/lab/lab";

/** Why the lab benchmarks cannot run here (root, lab tools, Docker lab hosts' tools, extra tools), or undefined when they can. */
export async function labProblem(extraTools: readonly string[] = [], options: { docker?: boolean } = {}): Promise<string | undefined> {
  const problems: string[] = [];
  try {
    await (options.docker ? requireDockerLabPrerequisites() : requireLabPrerequisites());
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  const dirs = `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin`.split(":").filter(Boolean);
  const missing = extraTools.filter((tool) => !dirs.some((dir) => fs.existsSync(path.join(dir, tool))));
  if (missing.length > 0) problems.push(`missing: ${missing.join(", ")} (Debian: apt-get install ${missing.join(" ")})`);
  return problems.length > 0 ? problems.join(" ") : undefined;
}

const liveLabs = new Set<Lab>();
const liveChildren = new Set<ChildProcess>();
let interruptHandlerInstalled = false;
let interruptTeardown: Promise<void> | undefined;

/** On Ctrl-C or SIGTERM: stop the processes we started, tear the labs down, exit 130. */
function installInterruptHandler(): void {
  if (interruptHandlerInstalled) return;
  interruptHandlerInstalled = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptTeardown) return;
    console.error(`\n${signal}: tearing the lab down…`);
    for (const child of liveChildren) child.kill("SIGKILL");
    interruptTeardown = Promise.allSettled([...liveLabs].map((lab) => lab.destroy())).then(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/**
 * Exits with `code`, unless an interrupt is tearing the lab down: then waits for that (which exits
 * 130). The work interrupted usually fails at once; exiting then would leave the lab behind.
 */
export async function exitAfterTeardown(code: number, report?: () => void): Promise<never> {
  if (interruptTeardown) await interruptTeardown;
  report?.();
  process.exit(code);
}

/** Builds a lab, runs `fn` on it and always destroys it. Returns `fn`'s result and the build time. */
export async function withLab<R>(spec: LabSpec, fn: (lab: Lab, buildMs: number) => Promise<R>): Promise<R> {
  installInterruptHandler();
  const t0 = performance.now();
  const lab = await Lab.create(spec);
  liveLabs.add(lab);
  try {
    return await fn(lab, performance.now() - t0);
  } finally {
    await lab.destroy();
    liveLabs.delete(lab);
  }
}

/** Tracks a process we started so that an interrupt stops it; returns a function that stops it now. */
export function trackChild(child: ChildProcess): () => void {
  installInterruptHandler();
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    liveChildren.delete(child);
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `1-, 5- and 15-minute load 0.52 0.71 0.80 on 2 cores`: noted next to every lab figure. */
export function machineLoad(): string {
  const [one, five, fifteen] = os.loadavg().map((l) => l.toFixed(2));
  return `load average ${one} ${five} ${fifteen} (1/5/15 min) on ${os.cpus().length} cores`;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
