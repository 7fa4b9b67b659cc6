/**
 * Several fixed host commands, each with its own stdin, in one SSH command: one round trip
 * instead of one per command (each costs a channel, a shell and a wait for its exit). The stdins
 * go as one stream, kept in a temporary file on the host; each command reads its slice of it
 * (`tail -c +OFFSET | head -c LENGTH`, byte counts computed here: no data in the script). They
 * run in order and the first that fails stops the batch, which reports which one and its stderr,
 * so an error names the same step as when the commands ran one by one.
 */
import { HostError } from './host-error';
import type { RunOptions, SshSession } from './session';

/** One command of a batch: constant text (like any command given to run()), its stdin, its step name. */
export interface BatchStep {
  step: string;
  command: string;
  stdin?: string;
}

/** The step that failed, with what it said (`cut`: it did not report its exit, so it may or may not have done its work); undefined when every step exited 0. */
export type BatchFailure = { step: string; cause: string; cut?: true } | undefined;

const FAILED = 'netpol-batch-failed';
const DONE = 'netpol-batch-done';

/** The script: the stdins to a temporary file, then each command on its slice, stopping at the first failure. */
export function batchScript(steps: readonly BatchStep[]): string {
  const total = steps.reduce((n, s) => n + Buffer.byteLength(s.stdin ?? ''), 0);
  const lines = [
    'f=$(mktemp "${TMPDIR:-/tmp}/netpol-batch.XXXXXX") || exit 1',
    'trap \'rm -f "$f" "$f.err"\' EXIT',
    // Ended by the time bound (SIGTERM to the group), or its output closed (the client gave up):
    // exit, so the EXIT trap still cleans up.
    "trap 'exit 143' TERM HUP INT PIPE",
    'cat >"$f" || exit 1',
    // A connection dropped while sending ends stdin early: no step may run on part of its input
    // (a rollback script cut short would restore part of the rules).
    `[ "$(wc -c <"$f")" -eq ${total} ] || { echo "the commands' input arrived incomplete ($(wc -c <"$f") of ${total} bytes)" >&2; exit 1; }`,
  ];
  let offset = 0;
  steps.forEach((s, i) => {
    const length = Buffer.byteLength(s.stdin ?? '');
    // The command runs as a function: its own `exit` ends only its subshell in the pipeline.
    lines.push(`step_${i}() {`, s.command, '}');
    lines.push(
      `tail -c +${offset + 1} "$f" | head -c ${length} | step_${i} >/dev/null 2>"$f.err"; rc=$?`,
      `if [ "$rc" -ne 0 ]; then echo "${FAILED} ${i} $rc"; cat "$f.err" >&2; exit 1; fi`,
      `echo "${DONE} ${i}"`,
    );
    offset += length;
  });
  return lines.join('\n');
}

/**
 * Runs the steps as one command. Resolves with the step that failed (a step the batch did not
 * get to the end of, when it was cut off: a dropped shell, the host's time bound), or undefined.
 * Transport errors and the client's timeout reject, as run() does; a timeout names the step the
 * batch was in.
 */
export async function runBatch(session: Pick<SshSession, 'run'>, steps: readonly BatchStep[], options: RunOptions = {}): Promise<BatchFailure> {
  if (steps.length === 0) return undefined;
  const stdin = steps.map((s) => s.stdin ?? '').join('');
  const doneIn = (stdout: string) => new Set(stdout.split('\n').flatMap((l) => (l.startsWith(`${DONE} `) ? [Number(l.slice(DONE.length + 1))] : [])));
  /** The step the batch was in: the first not reported done. */
  const current = (done: ReadonlySet<number>) => steps.find((_s, i) => !done.has(i)) ?? steps[steps.length - 1];
  const joined = options.step ?? steps.map((s) => s.step).join(', ');
  let r: Awaited<ReturnType<SshSession['run']>>;
  try {
    r = await session.run(batchScript(steps), stdin, { ...options, step: joined, stepAt: (stdout) => current(doneIn(stdout)).step });
  } catch (err) {
    // The client stopped waiting inside a step (its time bound), and the host has ended it since.
    if (err instanceof HostError && err.cutOff) return { step: err.step, cause: err.causeText, cut: true };
    // Not started (the connection closed, the channel refused): it failed before its first step.
    if (err instanceof HostError && err.step === joined && steps.length > 1) throw new HostError({ host: err.host, step: steps[0].step, cause: err.causeText, ...(err.hint !== undefined ? { hint: err.hint } : {}) });
    throw err;
  }
  const done = doneIn(r.stdout);
  const failed = new RegExp(`^${FAILED} (\\d+) (\\d+)$`, 'm').exec(r.stdout);
  if (failed) {
    const s = steps[Number(failed[1])];
    return { step: s.step, cause: r.stderr.trim() || `exit ${failed[2]}` };
  }
  if (r.code === 0 && done.size === steps.length) return undefined;
  return { step: current(done).step, cause: r.stderr.trim() || `the batch ended with exit ${r.code} before this step finished`, cut: true };
}

/** runBatch, throwing a HostError for the failed step (`hint` from the caller). */
export async function runBatchOrThrow(session: Pick<SshSession, 'run' | 'name'>, steps: readonly BatchStep[], hint: (failure: NonNullable<BatchFailure>) => Promise<string>): Promise<void> {
  const failure = await runBatch(session, steps);
  if (failure) throw new HostError({ host: session.name, step: failure.step, cause: failure.cause, hint: await hint(failure) });
}
