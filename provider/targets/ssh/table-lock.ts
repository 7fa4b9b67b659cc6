/**
 * One lock per table on a host, taken before an apply or a delete reads or stages anything and
 * held until it is done: `flock -n` on a fixed per-table path (table-place.ts), held by a command
 * that runs on the apply's first SSH connection for as long as the client wants it. The kernel
 * drops the lock when that command ends — released by the client, or because the connection
 * dropped when the client died — so a lock is never stale.
 *
 * Under the lock, the table's timer record is judged: a live timer of an earlier, unconfirmed
 * apply keeps the table busy (its restore is still to come); a stale record (another boot, or
 * its pid is now another process) is reported and removed, never signalled.
 */
import { HostError, RIGHTS_HINT } from './host-error';
import { SNAPSHOT_SUFFIX, TablePlace, UNRESTORED_SUFFIX, placeScript } from './table-place';
import { SshSession } from './session';

export const LOCK_TABLE_STEP = 'lock table';
const READY = 'locked';

/** The table's lock, held until release(). */
export interface TableLock {
  /** One warning per stale timer record found and removed (nothing was signalled), host name first. */
  stale: string[];
  release(): Promise<void>;
}

function lockScript(place: TablePlace): string {
  return [
    placeScript(place),
    'mkdir -p "$state_dir" "${lock%/*}"',
    'command -v flock >/dev/null 2>&1 || { echo "flock (util-linux) is not installed on the host; it is needed to lock the table" >&2; exit 5; }',
    'exec 9>>"$lock" || exit 5',
    // Busy: the holder wrote who it is to .owner; trust that only while that process holds the
    // lock file open as fd 9 (a holder that just took it may not have written it yet).
    'if ! flock -n 9; then',
    '  ino=$(stat -L -c %i "$lock"); owner=; i=0',
    '  while [ $i -lt 10 ]; do',
    '    line=$(head -n 1 "$lock.owner" 2>/dev/null) || line=',
    '    pid=${line#pid=}; pid=${pid%% *}',
    '    case "$pid" in \'\'|*[!0-9]*) ;; *) if [ "$(stat -L -c %i "/proc/$pid/fd/9" 2>/dev/null)" = "$ino" ]; then owner=$line; break; fi;; esac',
    '    sleep 0.1; i=$((i + 1))',
    '  done',
    '  echo "busy $owner"; exit 75',
    'fi',
    'printf \'pid=%s since=%s\\n\' "$$" "$(date +%s)" > "$lock.owner.$$" && mv -f "$lock.owner.$$" "$lock.owner"',
    'for kind in timer firing; do',
    '  [ -e "$base.$kind" ] || continue',
    '  read_record "$base.$kind"',
    '  if record_alive; then echo "timer pid=${rec_pid:-$rec_unit} since=$rec_since fires=$rec_fires"; exit 75; fi',
    '  if [ -z "$rec_boot" ] && [ -z "$rec_unit" ]; then why=format; elif [ "$rec_boot" != "$boot" ]; then why=boot; else why=process; fi',
    '  echo "stale $kind $why pid=$rec_pid"',
    '  rm -f "$base.$kind"',
    'done',
    `echo ${READY}`,
    // Holds fd 9 (the lock) until the client ends our input or its connection drops.
    'while read -r _; do :; done',
    // The read's listing kept for a rollback is the timer's while one is armed or restoring; after
    // a restore that failed (its log does not end in `exit 0`; one that worked removed it) it is
    // the only copy of the previous rules, moved where no later read writes (the first such copy
    // is kept); else no longer needed. Before fd 9 closes, so no other apply comes between.
    'if [ -e "$base.timer" ] || [ -e "$base.firing" ]; then :',
    `elif [ -e "$base.fired" ] && [ -e "$base${SNAPSHOT_SUFFIX}" ] && [ ! -e "$base${UNRESTORED_SUFFIX}" ] && ! tail -n 1 "$base.fired.log" 2>/dev/null | grep -qx 'exit 0'; then mv -f "$base${SNAPSHOT_SUFFIX}" "$base${UNRESTORED_SUFFIX}"`,
    `else rm -f "$base${SNAPSHOT_SUFFIX}" "$base${SNAPSHOT_SUFFIX}.new"; fi`,
  ].join('\n');
}

/** `since=1700000000` → an ISO time; anything else → "an unknown time". */
function timeOf(fields: Record<string, string>, key: string): string {
  const s = Number(fields[key]);
  return fields[key] && Number.isInteger(s) ? new Date(s * 1000).toISOString() : 'an unknown time';
}

function fieldsOf(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
}

const STALE_WHY: Record<string, string> = {
  format: 'an older record without boot id or process start time',
  boot: 'from another boot of the host',
  process: 'its pid is now another process, or gone',
};

/** Takes the lock of `place`'s table, or throws a HostError saying who holds it. */
export async function lockTable(session: SshSession, place: TablePlace): Promise<TableLock> {
  const host = session.name;
  const { table } = place;
  const held = await session.hold(lockScript(place), READY, { step: LOCK_TABLE_STEP });
  if (!held.ready) {
    const { code, stdout, stderr } = held.result;
    const busy = /^busy(.*)$/m.exec(stdout);
    const timer = /^timer (.*)$/m.exec(stdout);
    const running = `another apply of table ${table} on host ${host} is running`;
    const hint = 'Nothing was read or changed on the host; apply again when it has finished';
    if (code === 75 && busy) {
      const f = fieldsOf(busy[1]);
      throw new HostError({ host, step: LOCK_TABLE_STEP, cause: `${running} (pid ${f.pid || 'unknown'}, since ${timeOf(f, 'since')})`, hint });
    }
    if (code === 75 && timer) {
      const f = fieldsOf(timer[1]);
      throw new HostError({
        host,
        step: LOCK_TABLE_STEP,
        cause: `${running} (pid ${f.pid || 'unknown'}, since ${timeOf(f, 'since')}): it was not confirmed, and its rollback timer restores the previous rules at ${timeOf(f, 'fires')}`,
        hint,
      });
    }
    const rights = /Permission denied|Operation not permitted/.test(stderr) ? `. ${RIGHTS_HINT}` : '';
    throw new HostError({ host, step: LOCK_TABLE_STEP, cause: stderr.trim() || `exit ${code}`, hint: `Nothing was read or changed on the host${rights}` });
  }
  const stale = [...held.output.matchAll(/^stale (\w+) (\w+) pid=(\S*)$/gm)].map(
    (m) => `${host}: a stale rollback timer record of table ${table} (pid ${m[3] || 'unknown'}, ${STALE_WHY[m[2]] ?? m[2]}) was removed; no process was signalled`,
  );
  return { stale, release: held.release };
}
