/**
 * nftables backend: one table `inet <table>` per host, replaced atomically under the table's lock,
 * guarded by the host-side rollback timer, confirmed over a new SSH connection.
 */
import { createHash } from 'node:crypto';
import { HostApplyOptions, ApplyResult, DeleteOptions, DeleteResult, HostReadResult, READ_TABLE_STEP } from './apply-options';
import { READ_REPORT_SCRIPT, reportWithLock, splitReadReport } from './read-report';
import { HostError, RIGHTS_HINT } from './host-error';
import { confirmOverNewConnection } from './confirm';
import { ARM_STEP, DEFAULT_ROLLBACK_SEC, DEFAULT_STATE_DIR, TablePlace, armFailureHint, armStep, checkTimerSec, disarmRollback, hereDoc, restoreNowOrByTimer, snapshotKeep, snapshotSince } from './rollback';
import { SNAPSHOT_SUFFIX, placeScript } from './table-place';
import { BatchStep, runBatch } from './batch';
import { TableLock, lockTable } from './table-lock';
import { testOnlyPause, testOnlyPauseAt } from './test-pause';
import { HostRuleset, rulesText, validateNftText, validateRuleset } from '../../ruleset';
import { nftDelta, validateNftDelta } from '../../ruleset/nft-delta';
import { applyLineEdits, normalDiffEdits } from '../../ruleset/line-edits';
import { RecordPlace, forgetScript, keepPolicy, keptLiveScript, policyOf, recordReadScript, saveRecord, splitRecord, withSameLive } from './host-record';
import { SshTarget } from './connect';
import { SshSession, assertIdentifier, withSession } from './session';

const CHECK_STEP = 'check rules (nft -c)';
const APPLY_STEP = 'apply rules (nft -f)';
/** The exit of a read that could not keep its listing on the host (listTable). */
const KEEP_FAILED = 71;
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

const COUNTER = /counter packets \d+ bytes \d+/g;

/** Zeroes counters so that traffic does not look like drift. */
export function normalizeNftListing(text: string): string {
  return text.replace(COUNTER, 'counter packets 0 bytes 0').trimEnd() + '\n';
}

/**
 * The hash in a listing: the `return comment "netpol:<hash>"` rule of the `version` chain
 * (render/nftables.ts), found inside that chain only (`nft -a` handles allowed).
 */
export function hashOfNftListing(text: string): string | undefined {
  const chain = /^\tchain version \{(?: # handle \d+)?\n((?:\t\t.*\n)*?)\t\}/m.exec(text);
  return chain ? /^\t\treturn comment "netpol:([0-9a-f]+)"(?: # handle \d+)?$/m.exec(chain[1])?.[1] : undefined;
}

/** Declare, delete, redeclare: replaces the table in one transaction whether or not it exists. */
export function nftTransaction(table: string, tableText?: string): string {
  assertIdentifier(table, 'table');
  const body = tableText === undefined ? '' : tableText.endsWith('\n') ? tableText : `${tableText}\n`;
  return `table inet ${table}\ndelete table inet ${table}\n${body}`;
}

/**
 * Lists the table, with the host's bridge report (and the record, given its folder) in front of it
 * in the same command (one read per host). nft's exit status and stderr are the command's: it runs
 * last, or, when the listing is kept, first with its exit replayed at the end.
 * `keep`: shell lines that set `$netpol_keep` to a file (or leave it empty): the listing is also
 * kept there on the host, so that what the host already has need not be sent back to it. A file
 * that cannot be written fails the read (KEEP_FAILED), unless `$netpol_keep_optional` is set.
 * `since`: a listing of the table that both ends have (the apply's first read, kept on the host):
 * the host sends the difference from it instead of the listing when that is smaller (differenceScript).
 */
async function listTable(session: SshSession, table: string, recordDir?: string, keep?: string, since?: ListingSince): Promise<HostReadResult> {
  assertIdentifier(table, 'table');
  const step = READ_TABLE_STEP;
  if (keep === undefined && since === undefined) {
    const recordRead = recordDir === undefined ? '' : `${recordReadScript({ dir: recordDir, table })}\n`;
    return listingResult(session, recordDir, await session.run(`${READ_REPORT_SCRIPT}\n${recordRead}nft list table inet ${table}`, undefined, { step }));
  }
  // Kept: nft lists into the file first (its exit and stderr kept for the end), so the record's
  // listing can be compared with it on the host and left out when equal. Only nft's own stderr
  // may say "No such file or directory" (no table): a file that cannot be kept fails with
  // KEEP_FAILED, its shell message left out; an optional keep lists into a temporary file.
  const script = [
    keep ?? 'netpol_keep_optional=1; netpol_keep=',
    'netpol_tmp=',
    // printf, not `:`: a redirection that fails on a special builtin ends a POSIX shell.
    'if [ -z "$netpol_keep" ] || ! { printf "" > "$netpol_keep.new"; } 2>/dev/null; then',
    `  if [ -n "$netpol_keep" ] && [ -z "$netpol_keep_optional" ]; then echo "cannot write $netpol_keep.new" >&2; exit ${KEEP_FAILED}; fi`,
    `  netpol_keep=$(mktemp "\${TMPDIR:-/tmp}/netpol-listing.XXXXXX") || exit ${KEEP_FAILED}; netpol_tmp=1`,
    'fi',
    `netpol_rc=0; nft list table inet ${table} > "$netpol_keep.new" || netpol_rc=$?`,
    'if [ "$netpol_rc" -ne 0 ]; then rm -f "$netpol_keep.new"',
    `elif ! mv -f "$netpol_keep.new" "$netpol_keep" 2>/dev/null; then rm -f "$netpol_keep.new"; echo "cannot move the listing to $netpol_keep" >&2; exit ${KEEP_FAILED}; fi`,
    READ_REPORT_SCRIPT,
    ...(recordDir === undefined ? [] : [recordReadScript({ dir: recordDir, table }, '"$netpol_keep"')]),
    'if [ "$netpol_rc" -ne 0 ]; then [ -z "$netpol_tmp" ] || rm -f "$netpol_keep"; exit "$netpol_rc"; fi',
    since === undefined ? 'cat "$netpol_keep"; netpol_rc=$?' : differenceScript(since.script),
    '[ -z "$netpol_tmp" ] || rm -f "$netpol_keep"; exit "$netpol_rc"',
  ].join('\n');
  const read = listingResult(session, recordDir, await session.run(script, undefined, { step }), since);
  // A difference the client cannot use (the host's copy was not the one it has): read it whole.
  return read ?? listTable(session, table, recordDir, keep);
}

/**
 * A listing of the table that both ends have: on the host the file `$netpol_since` (set by
 * `script`), here `text`, as listingResult made it (counters zeroed).
 */
export interface ListingSince {
  script: string;
  text: string;
}

/** The first line of a read that sends the difference from the listing since, then its sha256. */
const DIFFERENCE_MARKER = 'netpol-listing-difference';

/**
 * Shell lines that print the kept listing's difference from `$netpol_since` (set by `script`; GNU diff, normal format) after
 * DIFFERENCE_MARKER and the sha256 of the listing with counters zeroed, when that is shorter
 * than the listing; else the listing.
 */
export function differenceScript(script: string): string {
  return [
    'netpol_since=; netpol_sum=; netpol_d=',
    script,
    'if [ -s "$netpol_since" ] && diff --version 2>/dev/null | grep -q GNU && netpol_d=$(mktemp "${TMPDIR:-/tmp}/netpol-difference.XXXXXX"); then',
    '  diff "$netpol_since" "$netpol_keep" > "$netpol_d"',
    '  if [ $? -le 1 ] && [ $(wc -c < "$netpol_d") -lt $(wc -c < "$netpol_keep") ]; then',
    "    netpol_sum=$(sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter packets 0 bytes 0/g' \"$netpol_keep\" | sha256sum | cut -d' ' -f1)",
    '  fi',
    'fi',
    `if [ -n "$netpol_sum" ]; then echo "${DIFFERENCE_MARKER} $netpol_sum"; cat "$netpol_d"; netpol_rc=$?; else cat "$netpol_keep"; netpol_rc=$?; fi`,
    '[ -z "$netpol_d" ] || rm -f "$netpol_d"',
  ].join('\n');
}

/**
 * The listing a read sent as its difference from `since` (differenceScript), or undefined when
 * the difference does not fit `since`'s text or does not give the listing the host hashed.
 */
export function listingFromDifference(rest: string, since: ListingSince): string | undefined {
  const newline = rest.indexOf('\n');
  const sum = rest.slice(DIFFERENCE_MARKER.length + 1, newline);
  const old = since.text.split('\n');
  if (old.pop() !== '') return undefined;
  const edits = normalDiffEdits(rest.slice(newline + 1), old, (mine, theirs) => mine === theirs.replace(COUNTER, 'counter packets 0 bytes 0'));
  if (edits === undefined) return undefined;
  const lines = applyLineEdits(old, edits);
  const text = normalizeNftListing(lines.map((l) => `${l}\n`).join(''));
  return createHash('sha256').update(text).digest('hex') === sum ? text : undefined;
}

/**
 * What a read of the table printed (listTable), as the table's state with the host's report and
 * the record; undefined when it sent a difference from `since` that cannot be used.
 */
function listingResult(session: SshSession, recordDir: string | undefined, result: { code: number; stdout: string; stderr: string }): HostReadResult;
function listingResult(session: SshSession, recordDir: string | undefined, result: { code: number; stdout: string; stderr: string }, since: ListingSince | undefined): HostReadResult | undefined;
function listingResult(session: SshSession, recordDir: string | undefined, result: { code: number; stdout: string; stderr: string }, since?: ListingSince): HostReadResult | undefined {
  const step = READ_TABLE_STEP;
  // Before the report is looked for: a read that could not keep its listing ends before printing it.
  if (result.code === KEEP_FAILED) throw new HostError({ host: session.name, step, cause: `the listing could not be kept on the host: ${result.stderr.trim()}`, hint: 'Check the state and record folders (space, rights); nothing was changed' });
  const { report, rest: listing } = splitReadReport(result.stdout, session.name, step);
  const split = recordDir === undefined ? { record: undefined, rest: listing } : splitRecord(listing, session.name, step);
  const sent = since !== undefined && result.code === 0 && split.rest.startsWith(`${DIFFERENCE_MARKER} `);
  const rest = sent ? listingFromDifference(split.rest, since) : split.rest;
  if (rest === undefined) return undefined;
  const record = withSameLive(split.record, rest);
  const recorded = record ? { record } : {};
  if (result.code !== 0) {
    if (/No such file or directory/.test(result.stderr)) return { present: false, ...report, ...recorded };
    throw new HostError({ host: session.name, step, cause: `nft: ${result.stderr.trim() || `exit ${result.code}`}`, hint: RIGHTS_HINT });
  }
  return { present: true, hash: hashOfNftListing(rest), text: normalizeNftListing(rest), ...report, ...recorded };
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
 * kept on the host beside the timer's files (snapshotKeep), so the whole previous table is not
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
    const current = await listTable(first, table, recordPlace?.dir, snapshotKeep(place));
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
      throw new HostError({ host: name, step: APPLY_STEP, cause: failure.cause, hint: await restoreNowOrByTimer(first, place, timerSec) });
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
    const since = current.present && current.text !== undefined ? { script: snapshotSince(place), text: current.text } : undefined;
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
