/**
 * TEST ONLY. `NETPOL_TEST_ONLY_PAUSE_AT=<step>` in the environment makes an apply stop for good at
 * that step and say so on stderr, so that a test can SIGKILL the client (a `netpol` child
 * process) exactly there and check what the host does on its own. Nothing sets it outside tests.
 */

/** The steps an apply can be stopped at: after the timer is armed, after the new rules are live, and during the confirm (after the read over the new connection, before the disarm). */
export type TestOnlyPauseStep = 'after-arm' | 'after-apply' | 'during-confirm';

export const TEST_ONLY_PAUSE_VARIABLE = 'NETPOL_TEST_ONLY_PAUSE_AT';

/** Whether the variable names `step` (an apply that would otherwise not stop between two of its steps can split them). */
export function testOnlyPauseAt(step: TestOnlyPauseStep): boolean {
  return process.env[TEST_ONLY_PAUSE_VARIABLE] === step;
}

/** Never resolves when the variable names `step`; else returns at once. */
export async function testOnlyPause(step: TestOnlyPauseStep, host: string): Promise<void> {
  if (!testOnlyPauseAt(step)) return;
  process.stderr.write(`${TEST_ONLY_PAUSE_VARIABLE}: paused at ${step} on host ${host} (pid ${process.pid})\n`);
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}
