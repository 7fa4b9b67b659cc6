/**
 * nftables backend: one table `inet <table>` per host, replaced atomically under the table's lock,
 * guarded by the host-side rollback timer, confirmed over a new SSH connection.
 */
import { HostApplyOptions, ApplyResult, DeleteOptions, DeleteResult, HostReadResult } from './apply-options';
import { reportWithLock } from './read-report';
import { HostError } from './host-error';
import { hashOfNftListing, listTable, normalizeNftListing } from './nftables-listing';
import { confirmOverNewConnection } from './confirm';
import { ARM_STEP, DEFAULT_ROLLBACK_SEC, DEFAULT_STATE_DIR, TablePlace, armFailureHint, armStep, checkTimerSec, disarmRollback, hereDoc, restoreNowOrByTimer, snapshotScript } from './rollback';
import { SNAPSHOT_SUFFIX, UNRESTORED_SUFFIX, placeScript } from './table-place';
import { BatchStep, runBatch } from './batch';
import { TableLock, lockTable } from './table-lock';
import { testOnlyPause, testOnlyPauseAt } from './test-pause';
import { HostRuleset, rulesText, validateNftText, validateRuleset } from '../../ruleset';
import { nftDelta, validateNftDelta } from '../../ruleset/nft-delta';
import { RecordPlace, forgetScript, keepPolicy, keptLiveScript, policyOf, saveRecord } from './host-record';
import { SshTarget } from './connect';
import { SshSession, assertIdentifier, withSession } from './session';

const CHECK_STEP = 'check rules (nft -c)';
const APPLY_STEP = 'apply rules (nft -f)';
const APPLY_ENDED = 'nft -f was ended by the host before the rollback timer fires';

/** nft -f is ended 2 s before the timer fires (applyCommand), after 1 s at least. */
const MIN_TIMER_SEC = 3;

/**
 * `nft -f`, ended on the host before the timer's restore could start (timer − 2 s, its SIGKILL a
 * second later; no timer under MIN_TIMER_SEC): a hung transaction never runs beside
 * the restore. Ended so, it may have committed: the caller restores. `--foreground` keeps nft in
 * the command's process group, so the session's own bound (session.ts) ends it too; without it
 * `timeout` moves nft to a group of its own, which would outlive that bound.
 */
function applyCommand(timerSec: number): string {
  const bound = timerSec - 2;
  return `timeout --foreground -k 1 ${bound} nft -f -; rc=$?\nif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "${APPLY_ENDED} (${bound} s)" >&2; fi\nexit "$rc"`;
}

/** Declare, delete, redeclare: replaces the table in one transaction whether or not it exists. */
export function nftTransaction(table: string, tableText?: string): string {
  assertIdentifier(table, 'table');
  const body = tableText === undefined ? '' : tableText.endsWith('\n') ? tableText : `${tableText}\n`;
  return `table inet ${table}\ndelete table inet ${table}\n${body}`;
}

/**
 * What to send: only the difference when the live table is exactly what our last apply left (the
 * record's listing, and the hash its text carries), else the whole table as a replace. The
 * record's text comes from the host, so it passes the table guard before a delta is made of it.
 */
export function nftApplyPlan(table: string, tableText: string, current: HostReadResult, force = false): { mode: 'full' | 'incremental'; transaction: string; reason?: string } {
  const full = (reason: string) => ({ mode: 'full' as const, transaction: nftTransaction(table, tableText), reason });
  const record = current.record;
  if (force) return full('forced');
  if (!current.present || current.text === undefined) return full('no table on the host');
  if (record === undefined) return full('no record of the last apply');
  const recordedHash = hashOfNftListing(record.rendered);
  if (recordedHash === undefined || recordedHash !== current.hash) return full('the table does not carry the hash of the recorded rules');
  if (normalizeNftListing(record.live) !== current.text) return full('the table was changed since the last apply');
  try {
    validateNftText(table, recordedHash, record.rendered);
  } catch (err) {
    return full(`the recorded rules do not pass the guard (${(err as Error).message})`);
  }
  const delta = nftDelta(record.rendered, tableText);
  if (delta.kind === 'full') return full(delta.reason);
  validateNftDelta(table, delta.text);
  return { mode: 'incremental', transaction: delta.text };
}

function placeOf(table: string, options: Pick<HostApplyOptions, 'stateDir'>): TablePlace {
  return { table, stateDir: options.stateDir ?? DEFAULT_STATE_DIR };
}

/**
 * The rollback script of a table that was there when the apply read it: that read's listing,
 * kept on the host beside the timer's files (snapshotScript), so the whole previous table is not
 * sent back to the host. Removes the listing once restored; keeps it (and fails) when nft refuses.
 */
function snapshotRestore(table: string): string {
  assertIdentifier(table, 'table');
  return [
    's="${0%.rollback.sh}' + SNAPSHOT_SUFFIX + '"',
    '[ -s "$s" ] || { echo "the listing of the previous rules ($s) is missing; nothing was restored" >&2; exit 1; }',
    `{ printf 'table inet ${table}\\ndelete table inet ${table}\\n'; cat "$s"; } | nft -f - && rm -f "$s"`,
  ].join('\n') + '\n';
}

/** Before a step that needs the kept listing (snapshotRestore): fails, changing nothing, when it is not there. */
function snapshotCheck(place: TablePlace): string {
  return `${placeScript(place)}\n[ -s "$base${SNAPSHOT_SUFFIX}" ] || { echo "the listing of the rules the read found ($base${SNAPSHOT_SUFFIX}) is not on the host" >&2; exit 1; }`;
}


/** Applies one host's nftables ruleset. Throws HostError naming the host and the failed step. */
export async function applyNftables(target: SshTarget, ruleset: HostRuleset, options: HostApplyOptions = {}): Promise<ApplyResult> {
  const name = ruleset.host;
  try {
    validateRuleset(ruleset);
  } catch (err) {
    throw new HostError({ host: name, step: 'validate ruleset', cause: (err as Error).message, hint: 'This is a bug in the renderer; nothing was sent to the host' });
  }
  const { table, hash } = ruleset;
  const tableText = ruleset.nft ?? '';
  const place = placeOf(table, options);
  const timerSec = options.rollbackTimerSec ?? DEFAULT_ROLLBACK_SEC;
  checkTimerSec(timerSec, MIN_TIMER_SEC);

  const recordPlace: RecordPlace | undefined = options.record ? { dir: options.record.dir, table } : undefined;

  // The caller's connection when it has one open (it closes it), else one of our own.
  const first = options.session?.isOpen ? options.session : await SshSession.open(target, name);
  let lock: TableLock | undefined;
  try {
    // 0. The table's lock, before anything is read: one apply of this table at a time, from any door.
    lock = await lockTable(first, place);
    const locked = lock;

    // 1. Idempotence: a table that already carries the hash is left alone (its record keeps the policy now enforced).
    // The listing is kept on the host for the rollback timer (the lock's release removes it when unused).
    const current = await listTable(first, table, recordPlace?.dir, snapshotScript(place, 'netpol_keep'));
    if (!options.force && current.present && current.hash === hash && current.text !== undefined) {
      if (recordPlace) await keepPolicy(first, recordPlace, current.record, options.record?.policy);
      return { host: name, changed: false, hash, liveText: current.text, ...reportWithLock(current, locked.stale) };
    }

    // 2. Only the difference when the table is what our last apply left.
    const { mode, transaction } = nftApplyPlan(table, tableText, current, options.force);
    // 3. Check it (nothing changes on error), arm the host-side timer with a snapshot of what is
    // there now, apply atomically: one host command, stopped at the first step that fails.
    const restore = current.present ? snapshotRestore(table) : hereDoc('nft -f -', nftTransaction(table));
    const steps: BatchStep[] = [
      { step: CHECK_STEP, command: current.present ? `${snapshotCheck(place)}\nnft -c -f -` : 'nft -c -f -', stdin: transaction },
      armStep(place, restore, timerSec),
      { step: APPLY_STEP, command: applyCommand(timerSec), stdin: transaction },
    ];
    // A test stopping the client between arming and applying needs them in two commands.
    const pauseAfterArm = testOnlyPauseAt('after-arm');
    const failure = await runBatch(first, pauseAfterArm ? steps.slice(0, 2) : steps);
    if (failure?.step === CHECK_STEP) throw new HostError({ host: name, step: CHECK_STEP, cause: failure.cause, hint: 'Nothing was changed on the host' });
    if (failure?.step === ARM_STEP) throw new HostError({ host: name, step: ARM_STEP, cause: failure.cause, hint: armFailureHint(failure.cut, timerSec) });
    if (failure?.step === APPLY_STEP && (failure.cut || failure.cause.includes(APPLY_ENDED))) {
      // Ended without saying whether nft committed: put the snapshot back now rather than guess.
      throw new HostError({ host: name, step: APPLY_STEP, cause: failure.cause, hint: await restoreNowOrByTimer(first, place, timerSec, `their listing stays on the host as ${place.stateDir}/${table}.n<netns inode>${UNRESTORED_SUFFIX}`) });
    }
    if (failure?.step === APPLY_STEP) {
      await disarmRollback(first, place);
      throw new HostError({ host: name, step: APPLY_STEP, cause: failure.cause, hint: 'The transaction was rejected as a whole; the previous rules are unchanged' });
    }
    if (pauseAfterArm) await testOnlyPause('after-arm', name);
    await options.hooks?.afterApplyBeforeConfirm?.();
    await testOnlyPause('after-apply', name);

    // 5. Confirm over a new connection; 6. disarm over it.
    // The confirming listing is kept on the host as the record's (saveRecord sends only the rendered
    // text); it comes back as its difference from the first read's, kept there as the snapshot.
    const keepLive = recordPlace ? keptLiveScript(recordPlace) : undefined;
    const since = current.present && current.text !== undefined ? { script: snapshotScript(place, 'netpol_since'), text: current.text } : undefined;
    const live = await confirmOverNewConnection({ target, host: name, first, place, timerSec, options, read: (confirm) => listTable(confirm, table, undefined, keepLive, since) });
    if (!live.present || live.hash !== hash || live.text === undefined) {
      throw new HostError({ host: name, step: 'confirm', cause: `after the apply the table carries hash ${live.hash ?? '(none)'}, expected ${hash}`, hint: 'Another process may be changing the table concurrently' });
    }
    if (recordPlace) await saveRecord(first, recordPlace, { rendered: rulesText(ruleset), live: 'kept', ...policyOf(options) }, current.record?.rendered);
    return { host: name, changed: true, hash, liveText: live.text, mode, bytesSent: Buffer.byteLength(transaction), ...reportWithLock(live, locked.stale) };
  } finally {
    await lock?.release();
    if (first !== options.session) first.close();
  }
}

/** Reads the project's table from a host (with its record, given the folder), for plan, status and refresh. */
export async function readNftables(target: SshTarget, host: string, table: string, recordDir?: string): Promise<HostReadResult> {
  return withSession(target, host, (session) => listTable(session, table, recordDir));
}

/**
 * Removes the project's table and rollback files under the table's lock; a missing table is fine.
 * Never touches another table.
 */
export async function deleteNftables(target: SshTarget, host: string, table: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  assertIdentifier(table, 'table');
  return withSession(target, host, async (session) => {
    const lock = await lockTable(session, placeOf(table, options));
    try {
      const warnings = lock.stale.length > 0 ? { warnings: lock.stale } : {};
      const forget = await session.run(forgetScript(placeOf(table, options), options.recordDir), undefined, { step: 'remove rollback files' });
      if (forget.code !== 0) throw new HostError({ host, step: 'remove rollback files', cause: forget.stderr.trim() });
      const current = await listTable(session, table);
      if (!current.present) return { host, deleted: false, ...warnings };
      const result = await session.run(`nft delete table inet ${table}`, undefined, { step: 'delete table' });
      if (result.code !== 0 && !/No such file or directory/.test(result.stderr)) {
        throw new HostError({ host, step: 'delete table', cause: `nft: ${result.stderr.trim()}` });
      }
      return { host, deleted: true, ...warnings };
    } finally {
      await lock.release();
    }
  });
}
