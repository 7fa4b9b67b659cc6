/**
 * The host-side rollback timer shared by both backends. Before new rules go live, a restore script
 * (built from the current rules) is written beside the table's lock (table-place.ts) and a timer
 * is started that runs it unless disarmed in time: a transient systemd timer where systemd runs
 * as PID 1, else a detached `setsid` job. Arming only succeeds once the timer is seen alive and
 * ours (its command line, or its unit); the record it leaves in `.timer` names it by pid, start
 * time, command line and boot id, so a later run never trusts a pid that now means something else.
 *
 * Arming and disarming race safely: whoever renames `.timer` first wins (the timer renames it to
 * `.firing`, then `.fired` once the restore ran; a disarm to `.disarm`).
 */
import type { BatchStep } from './batch';
import { HostError } from './host-error';
import { SNAPSHOT_SUFFIX, UNRESTORED_SUFFIX, TablePlace, placeScript } from './table-place';
import { SshSession } from './session';

export { DEFAULT_STATE_DIR } from './table-place';
export type { TablePlace } from './table-place';
export const DEFAULT_ROLLBACK_SEC = 20;

/** A here-document that is safe for any text without a line equal to the delimiter. */
export function hereDoc(command: string, text: string): string {
  const delimiter = 'NETPOL_EOF_7c1d';
  if (text.split('\n').includes(delimiter)) throw new Error('rollback text contains the here-document delimiter');
  return `${command} <<'${delimiter}'\n${text}${text.endsWith('\n') ? '' : '\n'}${delimiter}\n`;
}

/**
 * What the timer runs: `sh <base>.fire.sh <base> <seconds to wait> <token>`. It writes its own pid
 * first (so arming finds it whatever `setsid` does about forking), waits, and restores unless a
 * disarm renamed `.timer` first. It only ever takes the record that carries its own token: a
 * timer that somehow outlived its disarm never fires a later apply's restore. Run with 0 seconds
 * (systemd's timer, or rollbackNow()), it restores at once.
 */
const FIRE_SCRIPT = [
  '[ "$2" -gt 0 ] && echo $$ > "$1.timer.pid" && sleep "$2"',
  'grep -qx "token=$3" "$1.timer" 2>/dev/null || exit 0',
  'if mv "$1.timer" "$1.firing" 2>/dev/null; then',
  // From now on the record names this process, the one restoring (not a timer that may have
  // handed the restore over and ended): the table stays busy until the restore is done.
  '  start=$(sed \'s/.*) //\' /proc/$$/stat | cut -d\' \' -f20); cmd=$(tr \'\\0\' \' \' < /proc/$$/cmdline)',
  '  { grep -v \'^\\(pid\\|start\\|cmd\\|unit\\)=\' "$1.firing"; printf \'pid=%s\\nstart=%s\\ncmd=%s\\n\' $$ "$start" "${cmd% }"; } > "$1.firing.new" && mv "$1.firing.new" "$1.firing"',
  '  sh "$1.rollback.sh" > "$1.fired.log" 2>&1; echo "exit $?" >> "$1.fired.log"',
  '  mv "$1.firing" "$1.fired"',
  'fi',
].join('\n');

/**
 * Shell lines that name the table's snapshot in a shell variable: `netpol_keep`, for a read that
 * keeps its listing as the snapshot (see nftables-listing.ts: written under the table's lock,
 * removed by the restore that used it, by the disarm, or by the lock's release when no timer is
 * armed, table-lock.ts); `netpol_since`, for the confirming read that sends its difference from it.
 */
export function snapshotScript(place: TablePlace, variable: 'netpol_keep' | 'netpol_since'): string {
  return `${placeScript(place)}\n${variable}="$base${SNAPSHOT_SUFFIX}"`;
}

/** How the timer runs on the host, as arming found it alive. */
export type ArmedTimer = { kind: 'systemd'; unit: string } | { kind: 'job'; pid: number };

function armScript(place: TablePlace, seconds: number): string {
  return [
    placeScript(place),
    'mkdir -p "$state_dir"',
    'if [ -e "$base.timer" ]; then echo "a rollback timer of this table is already armed ($base.timer)" >&2; exit 3; fi',
    'cat > "$base.rollback.sh"',
    `cat > "$base.fire.sh" <<'NETPOL_FIRE'\n${FIRE_SCRIPT}\nNETPOL_FIRE`,
    'rm -f "$base.fired" "$base.fired.log" "$base.firing" "$base.timer.pid"',
    'since=$(date +%s); fires=$((since + ' + seconds + ')); token="$since.$$"',
    // systemd's own timer, where systemd is PID 1: it survives anything but a reboot.
    'if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemd-run >/dev/null 2>&1; then',
    `  unit="netpol-rollback-${place.table}-n$ns-$since-$$"`,
    `  if systemd-run --quiet --collect --unit="$unit" --on-active=${seconds}s --timer-property=AccuracySec=100ms /bin/sh "$base.fire.sh" "$base" 0 "$token" >/dev/null 2>&1 && systemctl is-active --quiet "$unit.timer"; then`,
    '    printf \'unit=%s\\nboot=%s\\nsince=%s\\nfires=%s\\ntoken=%s\\n\' "$unit" "$boot" "$since" "$fires" "$token" > "$base.timer.new" && mv "$base.timer.new" "$base.timer"',
    '    echo "armed systemd $unit"; exit 0',
    '  fi',
    '  systemctl stop "$unit.timer" >/dev/null 2>&1 || true',
    'fi',
    // Else a detached job in its own session, proven alive and ours before the apply goes on.
    'setsid_bin=$(command -v setsid 2>/dev/null) || setsid_bin=',
    'if [ -z "$setsid_bin" ] || [ ! -f "$setsid_bin" ] || [ ! -x "$setsid_bin" ]; then',
    '  rm -f "$base.rollback.sh" "$base.fire.sh"',
    '  echo "cannot start the rollback timer: systemd is not running as PID 1 and setsid (util-linux) is not installed" >&2; exit 5',
    'fi',
    `"$setsid_bin" sh "$base.fire.sh" "$base" ${seconds} "$token" < /dev/null > /dev/null 2>&1 &`,
    'i=0; while [ ! -s "$base.timer.pid" ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done',
    'pid=$(cat "$base.timer.pid" 2>/dev/null) || pid=',
    `want="sh $base.fire.sh $base ${seconds} $token"`,
    'why=',
    'case "$pid" in',
    "  ''|*[!0-9]*) why='no timer process wrote its pid within 5 s';;",
    '  *) if [ "$(proc_cmd "$pid")" != "$want" ]; then why="process $pid does not run the timer\'s command line"',
    '     elif [ "$(proc_sid "$pid")" != "$pid" ]; then why="process $pid is not detached in a session of its own"; fi;;',
    'esac',
    'if [ -n "$why" ]; then',
    '  if [ -n "$pid" ] && [ "$(proc_cmd "$pid")" = "$want" ]; then kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null; fi',
    '  rm -f "$base.rollback.sh" "$base.fire.sh" "$base.timer.pid"',
    '  echo "the rollback timer did not start: $why" >&2; exit 6',
    'fi',
    'printf \'pid=%s\\nstart=%s\\nboot=%s\\ncmd=%s\\nsince=%s\\nfires=%s\\ntoken=%s\\n\' "$pid" "$(proc_start "$pid")" "$boot" "$want" "$since" "$fires" "$token" > "$base.timer.new" && mv "$base.timer.new" "$base.timer"',
    'echo "armed job $pid"',
  ].join('\n');
}

/** Throws unless `seconds` is a timer the host can run (appliers call it before sending anything). */
export function checkTimerSec(seconds: number, min = 1): void {
  if (!Number.isInteger(seconds) || seconds < min || seconds > 3600) throw new Error(`rollback timer ${seconds} s must be ${min}..3600`);
}

export const ARM_STEP = 'arm rollback timer';
/** What a failed arm means for the host. */
export const ARM_HINT = 'Nothing was changed: the new rules are only applied under a timer that is running';

/**
 * The hint of an arm step that failed inside a batch. `cut`: the command ended (or the client gave
 * up on it) before the step reported its exit, so the timer may be armed: it restores the very
 * rules that are there now, and holds the table until it fires.
 */
export function armFailureHint(cut: boolean | undefined, timerSec: number): string {
  return cut ? `${ARM_HINT}; if the timer was armed before the command ended, it puts back these same rules within ${timerSec} s, and the table stays busy until then` : ARM_HINT;
}

/**
 * Arming as one step of a batch (batch.ts), so the check before it and the apply after it go to
 * the host in the same command: the script exits non-zero unless the timer was seen alive, and
 * the batch stops there. Call with the table's lock held, as armRollback.
 */
export function armStep(place: TablePlace, restoreScript: string, seconds: number): BatchStep {
  checkTimerSec(seconds);
  return { step: ARM_STEP, command: armScript(place, seconds), stdin: restoreScript };
}

/**
 * Writes `restoreScript` to the host and starts the timer; resolves once it is seen alive. Call
 * with the table's lock held (table-lock.ts): that is what keeps a second timer from arming.
 */
export async function armRollback(session: SshSession, place: TablePlace, restoreScript: string, seconds: number): Promise<ArmedTimer> {
  const { step, command, stdin } = armStep(place, restoreScript, seconds);
  const result = await session.run(command, stdin, { step });
  const armed = /^armed (systemd (\S+)|job (\d+))$/m.exec(result.stdout);
  if (result.code !== 0 || !armed) {
    throw new HostError({ host: session.name, step, cause: result.stderr.trim() || `exit ${result.code}`, hint: ARM_HINT });
  }
  return armed[2] !== undefined ? { kind: 'systemd', unit: armed[2] } : { kind: 'job', pid: Number(armed[3]) };
}

export type DisarmOutcome = 'disarmed' | 'fired' | 'none';

/** Stops the timer and removes the rollback files. Reports if the timer had already fired. */
export async function disarmRollback(session: SshSession, place: TablePlace, step = 'disarm rollback timer'): Promise<DisarmOutcome> {
  const script = [
    placeScript(place),
    'if mv "$base.timer" "$base.disarm" 2>/dev/null; then',
    // A record that is not a live timer of ours is not signalled (its pid may be anything now).
    '  read_record "$base.disarm"; if record_alive; then stop_record; fi',
    `  rm -f "$base.disarm" "$base.rollback.sh" "$base.fire.sh" "$base.timer.pid" "$base${SNAPSHOT_SUFFIX}"; echo disarmed`,
    'elif [ -e "$base.fired" ] || [ -e "$base.firing" ]; then echo fired; else echo none; fi',
  ].join('\n');
  const result = await session.run(script, undefined, { step });
  const word = result.stdout.trim().split('\n')[0];
  if (result.code !== 0 || !['disarmed', 'fired', 'none'].includes(word)) {
    throw new HostError({ host: session.name, step, cause: result.stderr.trim() || `unexpected output "${result.stdout.trim()}"` });
  }
  return word as DisarmOutcome;
}

/**
 * A live step failed after arming: the timer's restore runs now rather than at its time. It is
 * started detached, as the timer runs (so neither this connection nor the command's time bound
 * cuts it short: a restore waiting for the xtables lock finishes when the lock is free), and it
 * takes the record as the timer would, so exactly one of the two restores. Resolves once the
 * restore is done; throws, saying it is still running, when it is not done within `waitSec`.
 */
export async function rollbackNow(session: SshSession, place: TablePlace, waitSec = 10): Promise<void> {
  const step = 'restore previous rules';
  const script = [
    placeScript(place),
    'if [ -e "$base.timer" ]; then',
    '  token=$(field token "$base.timer")',
    '  if setsid_bin=$(command -v setsid 2>/dev/null) && [ -x "$setsid_bin" ]; then "$setsid_bin" sh "$base.fire.sh" "$base" 0 "$token" < /dev/null > /dev/null 2>&1 &',
    '  else sh "$base.fire.sh" "$base" 0 "$token" < /dev/null > /dev/null 2>&1; fi',
    'fi',
    `i=0; while [ ! -e "$base.fired" ] && [ $i -lt ${waitSec * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    'if [ -e "$base.fired" ]; then echo fired; cat "$base.fired.log"; else echo running; fi',
  ].join('\n');
  const result = await session.run(script, undefined, { step, timeoutMs: (waitSec + 10) * 1000 });
  const [word, ...log] = result.stdout.trim().split('\n');
  const exit = /^exit (\d+)$/.exec(log[log.length - 1] ?? '')?.[1];
  if (result.code === 0 && word === 'fired' && exit === '0') return;
  const cause =
    word === 'running'
      ? `the restore was started but is still running after ${waitSec} s (waiting for the xtables lock?); it finishes on its own when it can`
      : result.stderr.trim() || log.slice(0, -1).join('\n').trim() || `exit ${exit ?? result.code}`;
  throw new HostError({ host: session.name, step, cause });
}

/**
 * After a live step failed: the timer's restore now over `session` if it is still open (rollbackNow),
 * else left to the timer. Says which, for the error's hint (with `kept`, where the previous rules
 * are kept, when the restore failed).
 */
export async function restoreNowOrByTimer(session: SshSession, place: TablePlace, timerSec: number, kept?: string): Promise<string> {
  if (!session.isOpen) return `The host-side timer puts the previous rules back within ${timerSec} s`;
  try {
    await rollbackNow(session, place);
    return 'The previous rules were restored';
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    return `The previous rules are not restored yet: ${err.causeText}${kept ? `; ${kept}` : ''}`;
  }
}

/** Whether the timer fired (or is restoring now), and its log (used to report a rollback done by the host itself). */
export async function rollbackStatus(session: SshSession, place: TablePlace): Promise<{ fired: boolean; log: string }> {
  const script = [placeScript(place), 'if [ -e "$base.fired" ]; then echo fired; cat "$base.fired.log" 2>/dev/null; elif [ -e "$base.firing" ]; then echo fired; else echo pending; fi'].join('\n');
  const result = await session.run(script, undefined, { step: 'check rollback', timeoutMs: 10_000 });
  const [first, ...rest] = result.stdout.split('\n');
  return { fired: first.trim() === 'fired', log: rest.join('\n').trim() };
}

/**
 * Shell lines that remove every rollback file of the table (delete). Run with the table's lock
 * held: taking it refused if a live timer was pending, and cleared a stale record, so nothing
 * here is signalled.
 */
export function forgetRollbackScript(place: TablePlace): string {
  return [placeScript(place), `rm -f "$base.timer" "$base.timer.new" "$base.disarm" "$base.rollback.sh" "$base.fire.sh" "$base.timer.pid" "$base.firing" "$base.fired" "$base.fired.log" "$base${SNAPSHOT_SUFFIX}" "$base${SNAPSHOT_SUFFIX}.new" "$base${UNRESTORED_SUFFIX}"`].join('\n');
}
