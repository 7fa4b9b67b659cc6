/**
 * Reading the project's nftables table on a host: its listing (counters zeroed) and the hash it
 * carries, the host's report and record read in the same command, the listing optionally kept on
 * the host, and a listing sent as its difference from one both ends already have.
 */
import { createHash } from 'node:crypto';
import { HostReadResult, READ_TABLE_STEP } from './apply-options';
import { READ_REPORT_SCRIPT, splitReadReport } from './read-report';
import { HostError, RIGHTS_HINT } from './host-error';
import { applyLineEdits, normalDiffEdits } from '../../ruleset/line-edits';
import { recordReadScript, splitRecord, withSameLive } from './host-record';
import { SshSession, assertIdentifier } from './session';

/** The exit of a read that could not keep its listing on the host (listTable). */
const KEEP_FAILED = 71;

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
export async function listTable(session: SshSession, table: string, recordDir?: string, keep?: string, since?: ListingSince): Promise<HostReadResult> {
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
    READ_CLEANUP,
    // printf, not `:`: a redirection that fails on a special builtin ends a POSIX shell.
    'if [ -z "$netpol_keep" ] || ! { printf "" > "$netpol_keep.new"; } 2>/dev/null; then',
    `  if [ -n "$netpol_keep" ] && [ -z "$netpol_keep_optional" ]; then echo "cannot write $netpol_keep.new" >&2; exit ${KEEP_FAILED}; fi`,
    `  netpol_keep=$(mktemp "\${TMPDIR:-/tmp}/netpol-listing.XXXXXX") || exit ${KEEP_FAILED}; netpol_tmp=1`,
    'fi',
    `netpol_rc=0; nft list table inet ${table} > "$netpol_keep.new" || netpol_rc=$?`,
    // READ_CLEANUP's trap removes what is left of `.new` and a temporary listing.
    `if [ "$netpol_rc" -eq 0 ] && ! mv -f "$netpol_keep.new" "$netpol_keep" 2>/dev/null; then echo "cannot move the listing to $netpol_keep" >&2; exit ${KEEP_FAILED}; fi`,
    READ_REPORT_SCRIPT,
    ...(recordDir === undefined ? [] : [recordReadScript({ dir: recordDir, table }, '"$netpol_keep"')]),
    'if [ "$netpol_rc" -ne 0 ]; then exit "$netpol_rc"; fi',
    since === undefined ? 'cat "$netpol_keep"; netpol_rc=$?' : differenceScript(since.script),
    'exit "$netpol_rc"',
  ].join('\n');
  const read = listingResult(session, recordDir, await session.run(script, undefined, { step }), since);
  // A difference the client cannot use (the host's copy was not the one it has): read it whole.
  return read ?? listTable(session, table, recordDir, keep);
}

/**
 * Shell lines a kept read starts with: what it writes for itself (`$netpol_keep.new`, the
 * difference `$netpol_d`, a temporary listing) goes however the read ends; a signal exits, so
 * the EXIT trap runs.
 */
export const READ_CLEANUP = [
  'netpol_tmp=; netpol_d=',
  'trap \'[ -z "$netpol_keep" ] || rm -f "$netpol_keep.new"; [ -z "$netpol_d" ] || rm -f "$netpol_d"; [ -z "$netpol_tmp" ] || rm -f "$netpol_keep"\' EXIT',
  "trap 'exit 143' TERM HUP INT PIPE",
].join('\n');

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
 * Shell lines that print the kept listing's difference from `$netpol_since` (set by `script`;
 * GNU diff, normal format) after DIFFERENCE_MARKER and the sha256 of the listing with counters
 * zeroed, when that is shorter than the listing; else the listing. Its temporary file is
 * `$netpol_d` (listTable's trap removes it if the read is ended).
 */
export function differenceScript(script: string): string {
  return [
    'netpol_since=; netpol_sum=; netpol_d=',
    script,
    // GNU diff, and a sed with -E (without pipefail a failing sed would hash nothing).
    "if [ -s \"$netpol_since\" ] && diff --version 2>/dev/null | grep -q GNU && [ \"$(echo 1 | sed -E 's/[0-9]+/2/' 2>/dev/null)\" = 2 ] && netpol_d=$(mktemp \"${TMPDIR:-/tmp}/netpol-difference.XXXXXX\"); then",
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
