/**
 * The last steps of an apply, the same for every backend: over a NEW SSH connection, read what
 * the host carries now and disarm the host-side rollback timer. A host that cannot be reached
 * again after the apply has probably lost its management path: the timer restores the previous
 * rules, and the error says so (verified over the first connection when it is still open).
 */
import { HostApplyOptions } from './apply-options';
import { HostError } from './host-error';
import { TablePlace, disarmRollback, rollbackStatus } from './rollback';
import { SshTarget } from './connect';
import { SshSession, withSession } from './session';
import { testOnlyPause } from './test-pause';

export interface ConfirmStep<T> {
  target: SshTarget;
  host: string;
  /** The connection the apply ran on; used to check on the timer when the new one fails. */
  first: SshSession;
  place: TablePlace;
  timerSec: number;
  options: HostApplyOptions;
  /** Reads the host's rules over the new connection. */
  read: (session: SshSession) => Promise<T>;
}

export async function confirmOverNewConnection<T>(step: ConfirmStep<T>): Promise<T> {
  const { target, host, timerSec } = step;
  try {
    return await withSession(target, host, async (confirm) => {
      const state = await step.read(confirm);
      await testOnlyPause('during-confirm', host);
      const outcome = await disarmRollback(confirm, step.place, 'confirm and disarm');
      if (outcome === 'fired') {
        throw new HostError({ host, step: 'confirm', cause: `the host-side timer (${timerSec} s) fired before the apply was confirmed; the previous rules were restored`, hint: 'Raise rollbackTimerSec or check why the host is slow' });
      }
      return state;
    });
  } catch (err) {
    throw await lockedOut(step, err);
  }
}

/** Builds the error for a failed confirm: waits for the host to restore itself and says so. */
async function lockedOut(step: ConfirmStep<unknown>, err: unknown): Promise<HostError> {
  if (err instanceof HostError && err.step === 'confirm') return err;
  const { first, place, host, timerSec } = step;
  const cause = err instanceof Error ? err.message : String(err);
  let verified = '';
  if (step.options.waitForRollback ?? true) {
    await new Promise((r) => setTimeout(r, (timerSec + 2) * 1000));
    try {
      const status = first.isOpen ? await rollbackStatus(first, place) : undefined;
      verified = status === undefined ? ' (not verified: the first connection is gone too)' : status.fired ? ' (verified: the timer fired)' : ' (not verified: the timer had not fired yet)';
    } catch (statusErr) {
      verified = ` (not verified: ${statusErr instanceof HostError ? statusErr.causeText : String(statusErr)})`;
    }
  }
  return new HostError({
    host,
    step: 'confirm over a new SSH connection',
    cause: `${cause}. The new rules were rolled back by the host-side timer after ${timerSec} s${verified}`,
    hint: 'The new rules probably cut the management connection (SSH); allow it in the policy and apply again',
  });
}
