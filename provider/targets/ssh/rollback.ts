/**
 * The host-side rollback timer shared by both backends. Before new rules go live, a restore script
 * (built from the current rules) is written to the state directory and a detached
 * `setsid sh -c 'sleep N; …'` process is started that runs it unless disarmed in time. Arming and
 * disarming race safely: whoever renames `<table>.timer` first wins.
 */
import { HostError } from './host-error';
import { SshSession, assertIdentifier, shQuote } from './session';

export const DEFAULT_STATE_DIR = '/var/lib/pulumi-netpolicy';
export const DEFAULT_ROLLBACK_SEC = 20;
const STATE_DIR = /^\/[A-Za-z0-9_./-]{1,200}$/;

export interface RollbackPlace {
  stateDir: string;
  table: string;
}

function paths(place: RollbackPlace): { dir: string; base: string } {
  if (!STATE_DIR.test(place.stateDir) || place.stateDir.includes('..')) throw new Error(`state directory "${place.stateDir}" is not a plain absolute path`);
  assertIdentifier(place.table, 'table');
  return { dir: shQuote(place.stateDir), base: shQuote(`${place.stateDir}/${place.table}`) };
}

/** A here-document that is safe for any text without a line equal to the delimiter. */
export function hereDoc(command: string, text: string): string {
  const delimiter = 'NETPOL_EOF_7c1d';
  if (text.split('\n').includes(delimiter)) throw new Error('rollback text contains the here-document delimiter');
  return `${command} <<'${delimiter}'\n${text}${text.endsWith('\n') ? '' : '\n'}${delimiter}\n`;
}

/** Writes `restoreScript` to the host and starts the timer. Fails if an earlier timer is still armed. */
export async function armRollback(session: SshSession, place: RollbackPlace, restoreScript: string, seconds: number): Promise<void> {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new Error(`rollback timer ${seconds} s must be 1..3600`);
  const { dir, base } = paths(place);
  const script = [
    'set -e',
    'umask 077',
    `mkdir -p ${dir}`,
    `if [ -e ${base}.timer ]; then`,
    `  pid=$(cat ${base}.timer 2>/dev/null || true)`,
    '  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "a rollback timer (pid $pid) from an earlier apply is still armed" >&2; exit 3; fi',
    `  rm -f ${base}.timer`,
    'fi',
    `cat > ${base}.rollback.sh`,
    `rm -f ${base}.fired ${base}.fired.log`,
    // The timer: renames .timer to .fired (so a late disarm sees it fired), then restores.
    `setsid sh -c 'sleep ${seconds}; if mv "$1.timer" "$1.fired" 2>/dev/null; then sh "$1.rollback.sh" > "$1.fired.log" 2>&1; echo "exit $?" >> "$1.fired.log"; fi' netpol-rollback ${base} < /dev/null > /dev/null 2>&1 &`,
    `echo $! > ${base}.timer`,
  ].join('\n');
  const result = await session.run(script, restoreScript, { step: 'arm rollback timer' });
  if (result.code !== 0) {
    throw new HostError({
      host: session.name,
      step: 'arm rollback timer',
      cause: result.stderr.trim() || `exit ${result.code}`,
      hint: 'Nothing was changed. Wait for the earlier timer to fire, or check the state directory on the host',
    });
  }
}

export type DisarmOutcome = 'disarmed' | 'fired' | 'none';

/** Stops the timer and removes the rollback files. Reports if the timer had already fired. */
export async function disarmRollback(session: SshSession, place: RollbackPlace, step = 'disarm rollback timer'): Promise<DisarmOutcome> {
  const { base } = paths(place);
  const script = [
    `if mv ${base}.timer ${base}.disarm 2>/dev/null; then`,
    `  pid=$(cat ${base}.disarm); kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true`,
    `  rm -f ${base}.disarm ${base}.rollback.sh; echo disarmed`,
    `elif [ -e ${base}.fired ]; then echo fired; else echo none; fi`,
  ].join('\n');
  const result = await session.run(script, undefined, { step });
  const word = result.stdout.trim().split('\n')[0];
  if (result.code !== 0 || !['disarmed', 'fired', 'none'].includes(word)) {
    throw new HostError({ host: session.name, step, cause: result.stderr.trim() || `unexpected output "${result.stdout.trim()}"` });
  }
  return word as DisarmOutcome;
}

/** Disarms the timer and runs the restore script now (a step failed after arming). */
export async function rollbackNow(session: SshSession, place: RollbackPlace): Promise<void> {
  const { base } = paths(place);
  const script = [
    `if mv ${base}.timer ${base}.disarm 2>/dev/null; then`,
    `  pid=$(cat ${base}.disarm); kill -- -"$pid" 2>/dev/null || true`,
    `  sh ${base}.rollback.sh; rc=$?`,
    `  rm -f ${base}.disarm ${base}.rollback.sh; exit $rc`,
    'fi',
  ].join('\n');
  const result = await session.run(script, undefined, { step: 'restore previous rules' });
  if (result.code !== 0) {
    throw new HostError({ host: session.name, step: 'restore previous rules', cause: result.stderr.trim() || `exit ${result.code}` });
  }
}

/** Whether the timer fired, and its log (used to report a rollback done by the host itself). */
export async function rollbackStatus(session: SshSession, place: RollbackPlace): Promise<{ fired: boolean; log: string }> {
  const { base } = paths(place);
  const result = await session.run(`if [ -e ${base}.fired ]; then echo fired; cat ${base}.fired.log 2>/dev/null; else echo pending; fi`, undefined, {
    step: 'check rollback',
    timeoutMs: 10_000,
  });
  const [first, ...rest] = result.stdout.split('\n');
  return { fired: first.trim() === 'fired', log: rest.join('\n').trim() };
}

/** Shell lines that stop any timer and remove every state file of the table (used by delete). */
export function forgetRollbackScript(place: RollbackPlace): string {
  const { base } = paths(place);
  return [
    `if [ -e ${base}.timer ]; then pid=$(cat ${base}.timer 2>/dev/null || true); [ -n "$pid" ] && kill -- -"$pid" 2>/dev/null || true; fi`,
    `rm -f ${base}.timer ${base}.disarm ${base}.rollback.sh ${base}.fired ${base}.fired.log`,
  ].join('\n');
}
