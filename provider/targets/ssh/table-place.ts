/**
 * Where a table's lock and rollback timer live on a host, and how a timer record is judged.
 *
 * Both are keyed by what they guard: the table in the host's packet filter, which belongs to a
 * network namespace. So two models that name the same host differently (or the CLI and Pulumi)
 * meet at the same lock and see each other's timer, while hosts that share one disk (containers
 * of one machine, the namespace lab) but not a network namespace never do. The key is computed on
 * the host: `<table>.n<inode of /proc/self/ns/net>`.
 *
 * - lock: `/run/pulumi-netpolicy/<key>.lock` (flock; /run empties at boot, and a lock has no
 *   meaning across boots) and `<key>.lock.owner` (who holds it, for the loser's message);
 * - timer: `<stateDir>/<key>.timer`, `.rollback.sh`, `.firing`, `.fired`, `.fired.log`;
 * - snapshot: `<stateDir>/<key>.snapshot`, the listing an nftables apply's read found, which its
 *   rollback script restores: the timer's while one is armed or restoring, else removed when the
 *   lock is released; after a restore that failed, moved to `<key>.unrestored` (the previous
 *   rules, for the operator: `nft -f` it after `delete table inet <table>`), which delete removes.
 *
 * A timer record (`.timer`, renamed `.firing` while it restores) names its process by pid, the
 * process's start time (field 22 of /proc/<pid>/stat), its command line and the boot id. A record
 * from another boot, or whose pid is now another process, is stale: it is reported and removed,
 * and nothing is ever signalled on its word.
 */
import { assertIdentifier, shQuote } from './session';

export const DEFAULT_STATE_DIR = '/var/lib/pulumi-netpolicy';
/** The snapshot's file after `$base` (see above). */
export const SNAPSHOT_SUFFIX = '.snapshot';
/** The snapshot's name after a restore from it failed (see above). */
export const UNRESTORED_SUFFIX = '.unrestored';
export const LOCK_DIR = '/run/pulumi-netpolicy';
const STATE_DIR = /^\/[A-Za-z0-9_./-]{1,200}$/;

export interface TablePlace {
  /** Folder of the rollback files. @default DEFAULT_STATE_DIR */
  stateDir: string;
  table: string;
}

/**
 * Shell lines that set `$base` (the timer files' common prefix) and `$lock` for the table, or exit 4
 * when the network namespace cannot be told; also the functions below. Every script that touches
 * a table's lock or timer starts with them.
 */
export function placeScript(place: TablePlace): string {
  if (!STATE_DIR.test(place.stateDir) || place.stateDir.includes('..')) throw new Error(`state directory "${place.stateDir}" is not a plain absolute path`);
  assertIdentifier(place.table, 'table');
  return [
    'umask 077',
    'ns=$(readlink /proc/self/ns/net 2>/dev/null) || ns=',
    'ns=${ns#net:?}; ns=${ns%?}',
    `case "$ns" in ''|*[!0-9]*) echo "cannot tell the host's network namespace from /proc/self/ns/net" >&2; exit 4;; esac`,
    `state_dir=${shQuote(place.stateDir)}`,
    `base="$state_dir"/${place.table}.n"$ns"`,
    `lock=${shQuote(LOCK_DIR)}/${place.table}.n"$ns".lock`,
    'boot=$(cat /proc/sys/kernel/random/boot_id)',
    RECORD_FUNCTIONS,
  ].join('\n');
}

/**
 * `proc_start PID`: field 22 of /proc/PID/stat (after the command name, which may hold spaces).
 * `proc_cmd PID`: the command line, arguments joined by spaces.
 * `read_record FILE`: sets rec_pid, rec_start, rec_boot, rec_cmd, rec_unit, rec_since, rec_fires.
 * `record_alive`: whether the record just read names a live process (or systemd unit) of ours.
 * `stop_record`: stops what a live record names (call only after record_alive).
 */
const RECORD_FUNCTIONS = [
  'proc_start() { sed \'s/.*) //\' "/proc/$1/stat" 2>/dev/null | cut -d\' \' -f20; }',
  'proc_sid() { sed \'s/.*) //\' "/proc/$1/stat" 2>/dev/null | cut -d\' \' -f4; }',
  'proc_cmd() { c=$(tr \'\\0\' \' \' < "/proc/$1/cmdline" 2>/dev/null) || c=; printf \'%s\' "${c% }"; }',
  'field() { sed -n "s/^$1=//p" "$2" | head -n 1; }',
  // In the shell alone (each field's first value): a process per field cost ~2 ms each, on every lock and disarm.
  'read_record() {',
  '  rec_pid=; rec_start=; rec_boot=; rec_cmd=; rec_unit=; rec_since=; rec_fires=',
  '  while IFS= read -r line || [ -n "$line" ]; do',
  '    case "$line" in',
  '      pid=*) : "${rec_pid:=${line#pid=}}";; start=*) : "${rec_start:=${line#start=}}";; boot=*) : "${rec_boot:=${line#boot=}}";;',
  '      cmd=*) : "${rec_cmd:=${line#cmd=}}";; unit=*) : "${rec_unit:=${line#unit=}}";; since=*) : "${rec_since:=${line#since=}}";;',
  '      fires=*) : "${rec_fires:=${line#fires=}}";;',
  '    esac',
  '  done < "$1"',
  '  if [ -z "$rec_boot" ] && [ -z "$rec_unit" ]; then rec_pid=$(head -n 1 "$1" | tr -cd 0-9); fi',
  '}',
  'record_alive() {',
  '  [ -n "$rec_boot" ] && [ "$rec_boot" = "$boot" ] || return 1',
  '  if [ -n "$rec_unit" ]; then',
  '    case "$rec_unit" in netpol-rollback-*) ;; *) return 1;; esac',
  '    case "$rec_unit" in *[!A-Za-z0-9_.-]*) return 1;; esac',
  '    systemctl is-active --quiet "$rec_unit.timer" 2>/dev/null || systemctl is-active --quiet "$rec_unit.service" 2>/dev/null',
  '    return',
  '  fi',
  '  case "$rec_pid" in \'\'|*[!0-9]*) return 1;; esac',
  '  [ -n "$rec_start" ] && [ "$(proc_start "$rec_pid")" = "$rec_start" ] || return 1',
  '  [ -n "$rec_cmd" ] && [ "$(proc_cmd "$rec_pid")" = "$rec_cmd" ]',
  '}',
  'stop_record() {',
  '  if [ -n "$rec_unit" ]; then systemctl stop "$rec_unit.timer" 2>/dev/null || true; else kill -- -"$rec_pid" 2>/dev/null || kill "$rec_pid" 2>/dev/null || true; fi',
  '}',
].join('\n');
