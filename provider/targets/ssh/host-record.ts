/**
 * The record the project keeps on each host, in the host's record folder: the rules text the last
 * apply sent (so a plan shows the lines that change, and an apply can send only the difference),
 * the host's listing right after it (so a read tells a hand edit from our own rules), and the
 * network's policy that apply enforced (so a plan says who may now reach whom compared with it).
 *
 * It is read in the same command as the table (one read per host) and written by the applier on
 * the apply's own connection, under the table's lock: no other apply comes between the rules and
 * the record of them. The folder is the caller's (one per host name, see deploy/hosts/driver.ts).
 */
import * as crypto from 'crypto';
import { HostError } from './host-error';
import { editScript, lineEdits } from '../../ruleset/line-edits';
import { reportSection } from './report-section';
import { TablePlace, forgetRollbackScript } from './rollback';
import { SshSession, assertIdentifier, shQuote } from './session';

/** What the last apply left on a host. */
export interface HostRecord {
  /** The rules text that apply sent (rulesText). */
  rendered: string;
  /** The host's listing right after that apply. */
  live: string;
  /** The network's policy of the last apply (encodePolicy); absent in records of older versions. */
  policy?: string;
}

/** Where a table's record lives: `<dir>/<table>.rendered`, `.live`, `.policy` (and `.live.new`, a kept listing on its way to `.live`). */
export interface RecordPlace {
  dir: string;
  table: string;
}

const DIR = /^\/[A-Za-z0-9_./-]{1,200}$/;

function files(place: RecordPlace): { rendered: string; renderedNew: string; live: string; policy: string; policyNew: string; keptLive: string } {
  if (!DIR.test(place.dir) || place.dir.includes('..')) throw new Error(`record folder "${place.dir}" is not a plain absolute path`);
  assertIdentifier(place.table, 'table');
  const at = (kind: string) => shQuote(`${place.dir}/${place.table}.${kind}`);
  return { rendered: at('rendered'), renderedNew: at('rendered.new'), live: at('live'), policy: at('policy'), policyNew: at('policy.new'), keptLive: at('live.new') };
}

/** Separate the texts of a record on stdin and stdout; the renderers never emit these lines. */
const LIVE_MARKER = '--- netpol live listing ---';
const POLICY_MARKER = '--- netpol policy ---';
const SECTION = { begin: '@@netpol-record-begin', end: '@@netpol-record-end' };

/** In a record read beside a kept listing: the record's listing is that one, byte for byte (it is not sent). */
const LIVE_SAME = '@@netpol-live-same-as-listing';

/**
 * Shell lines that print the record between two marker lines (nothing between them when there is
 * none). `sameAs`: a shell word naming the listing the read kept on the host (when it set
 * `$netpol_rc` to 0): a record listing equal to it is not printed, only said to be equal.
 */
export function recordReadScript(place: RecordPlace, sameAs?: string): string {
  const f = files(place);
  const live = sameAs === undefined
    ? `cat ${f.live} 2>/dev/null`
    : `if [ "$netpol_rc" -eq 0 ] && cmp -s ${sameAs} ${f.live} 2>/dev/null; then echo '${LIVE_SAME}'; else cat ${f.live} 2>/dev/null; fi`;
  return [
    `echo '${SECTION.begin}'`,
    `if [ -e ${f.rendered} ]; then cat ${f.rendered}; echo '${LIVE_MARKER}'; ${live}; echo '${POLICY_MARKER}'; cat ${f.policy} 2>/dev/null; fi`,
    `echo '${SECTION.end}'`,
  ].join('\n');
}

/** The record with its listing filled in from the read's own when the host found them equal (recordReadScript's `sameAs`). */
export function withSameLive(record: HostRecord | undefined, listing: string): HostRecord | undefined {
  return record !== undefined && record.live === `${LIVE_SAME}\n` ? { ...record, live: listing } : record;
}

/** The record a read printed (recordReadScript), and the output without it. */
export function splitRecord(stdout: string, host: string, step: string): { record?: HostRecord; rest: string } {
  const { lines, rest } = reportSection(stdout, SECTION, { host, step, check: 'record read', hint: 'Check that the login shell is POSIX sh compatible' });
  const at = lines.indexOf(LIVE_MARKER);
  if (at < 0) return { rest };
  const after = lines.slice(at + 1);
  const p = after.lastIndexOf(POLICY_MARKER);
  const live = (p < 0 ? after : after.slice(0, p)).join('\n');
  const policy = p < 0 ? '' : after.slice(p + 1).join('\n').trim();
  const rendered = `${lines.slice(0, at).join('\n')}\n`;
  return { record: { rendered, live: `${live}\n`, ...(policy !== '' ? { policy } : {}) }, rest };
}

/** Where a written record's listing comes from: sent with it, kept on the host by the confirming read (keptLiveScript), or the one there now. */
export type LiveSource = { text: string } | 'kept' | 'unchanged';

/** A record to write. */
export interface SavedRecord {
  rendered: string;
  live: LiveSource;
  policy?: string;
}

/** Shell line that fails, saying so, when the confirming read's listing was not kept on the host. */
function keptLiveCheck(f: ReturnType<typeof files>): string {
  return `[ -s ${f.keptLive} ] || { echo "the confirming read's listing was not kept on the host:" ${f.keptLive} >&2; exit 1; }`;
}

/** Shell lines that make the listing the confirming read kept the record's (or fail, saying so). */
function useKeptLive(f: ReturnType<typeof files>): string {
  return `{ ${keptLiveCheck(f)}; } && mv -f ${f.keptLive} ${f.live}`;
}

/** The command that writes a record from its stdin (recordInput). */
export function recordWriteScript(place: RecordPlace, live: LiveSource = { text: '' }): string {
  const f = files(place);
  const kept = live === 'kept' ? ` && ${useKeptLive(f)}` : '';
  return `mkdir -p ${shQuote(place.dir)} && rm -f ${f.policy}${kept} && awk -v r=${f.rendered} -v l=${f.live} -v p=${f.policy} '$0=="${LIVE_MARKER}"{f=1;next} $0=="${POLICY_MARKER}"{f=2;next} {print > (f == 2 ? p : f ? l : r)}'`;
}

/**
 * Shell lines for a read that keeps its listing on the host for the record (`$netpol_keep`, see
 * nftables-listing.ts), so the listing is not sent back to it; when it cannot be kept the read goes
 * on without it (the record's write then fails, saying so, and the rules stay).
 */
export function keptLiveScript(place: RecordPlace): string {
  const f = files(place);
  return `netpol_keep_optional=1; if mkdir -p ${shQuote(place.dir)} 2>/dev/null; then netpol_keep=${f.keptLive}; else netpol_keep=; fi`;
}

/** What follows the rules text (or the edit script) on a write's stdin: the listing, when sent, and the policy, after their markers. */
function markedSections(live: LiveSource, policy: string | undefined): string {
  const listing = typeof live === 'object' ? `${LIVE_MARKER}\n${live.text.trimEnd()}\n` : '';
  return `${listing}${policy !== undefined ? `${POLICY_MARKER}\n${policy}\n` : ''}`;
}

export function recordInput(record: SavedRecord): string {
  return `${record.rendered.trimEnd()}\n${markedSections(record.live, record.policy)}`;
}

/** The exit of a patch that did not give the text it should (the host's copy was not the one read): write it whole. */
const PATCH_MISSED = 3;

/**
 * The command that rewrites the record's rules text from an edit script on its stdin (line-edits.ts;
 * the policy after its marker), checking the result's sha256 before it replaces the old text; exits
 * PATCH_MISSED, changing nothing, when the result is not the text wanted (or sha256sum is missing).
 */
export function recordPatchScript(place: RecordPlace, sha256: string, live: LiveSource): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('the rules text\'s sha256 must be 64 hex digits');
  const f = files(place);
  const next = f.renderedNew;
  // A listing sent after the edits goes where a kept one would, and on from there.
  const awk = [
    'NR == FNR { old[NR] = $0; n = NR; next }',
    'lit > 0 { print > out; lit--; next }',
    `$0 == "${LIVE_MARKER}" { sec = 1; next }`,
    `$0 == "${POLICY_MARKER}" { sec = 2; next }`,
    'sec == 1 { print > l; next }',
    'sec == 2 { print > p; next }',
    '/^=[0-9]+$/ { c = substr($0, 2) + 0; while (c-- > 0) print old[++i] > out; next }',
    '/^-[0-9]+$/ { i += substr($0, 2) + 0; next }',
    '/^[+][0-9]+$/ { lit = substr($0, 2) + 0; next }',
    '{ bad = 1; exit }',
    `END { if (bad || lit > 0 || i != n) exit ${PATCH_MISSED} }`,
  ].join('\n');
  const sent = typeof live === 'object';
  const missed = `{ rm -f ${next} ${f.policyNew}${sent ? ` ${f.keptLive}` : ''}; exit ${PATCH_MISSED}; }`;
  return [
    `mkdir -p ${shQuote(place.dir)} && [ -s ${f.rendered} ] || exit ${PATCH_MISSED}`,
    // A kept listing that is missing fails before anything changes (rather than after the text).
    ...(live === 'kept' ? [keptLiveCheck(f)] : []),
    `rm -f ${next} ${f.policyNew}${sent ? ` ${f.keptLive}` : ''}`,
    `awk -v out=${next} -v p=${f.policyNew} -v l=${f.keptLive} '${awk}' ${f.rendered} - || ${missed}`,
    `[ "$(sha256sum ${next} 2>/dev/null | cut -d' ' -f1)" = ${sha256} ] || ${missed}`,
    `mv -f ${next} ${f.rendered} && { if [ -e ${f.policyNew} ]; then mv -f ${f.policyNew} ${f.policy}; else rm -f ${f.policy}; fi; }${live !== 'unchanged' ? ` && mv -f ${f.keptLive} ${f.live}` : ''}`,
  ].join('\n');
}

/** The patch's stdin: the edit script, then the listing (when sent) and the policy after their markers. */
export function recordPatchInput(edits: string, live: LiveSource, policy: string | undefined): string {
  return `${edits}${markedSections(live, policy)}`;
}

/** Shell line that removes the record (delete). */
export function recordClearScript(place: RecordPlace): string {
  const f = files(place);
  return `rm -f ${f.rendered} ${f.renderedNew} ${f.live} ${f.policy} ${f.policyNew} ${f.keptLive}`;
}

/** More changed lines than this and the record's text is sent whole (the difference costs more to find than it saves). */
const MAX_CHANGED_LINES = 1000;

const linesOf = (text: string): string[] => text.trimEnd().split('\n');

/**
 * Writes the record over an open session (the apply's, under the table's lock). Given `base`, the
 * rules text this host's record holds (as the apply's read found it), only the lines that changed
 * are sent when that is much less than the whole text; the host checks the result's sha256, and
 * the text is sent whole when it does not match.
 */
export async function saveRecord(session: SshSession, place: RecordPlace, record: SavedRecord, base?: string): Promise<void> {
  const step = 'save record';
  const fail = (result: { code: number; stderr: string }) => new HostError({ host: session.name, step, cause: result.stderr.trim() || `exit ${result.code}`, hint: `The rules are applied; the record in ${place.dir} could not be written (the next plan shows the whole text as changed)` });
  if (base !== undefined) {
    const lines = linesOf(record.rendered);
    const edits = lineEdits(linesOf(base), lines, MAX_CHANGED_LINES);
    const script = edits === undefined ? undefined : editScript(edits);
    if (script !== undefined && script.length < record.rendered.length / 2) {
      const sha256 = crypto.createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex');
      const patched = await session.run(recordPatchScript(place, sha256, record.live), recordPatchInput(script, record.live, record.policy), { step });
      if (patched.code === 0) return;
      if (patched.code !== PATCH_MISSED) throw fail(patched);
    }
  }
  const result = await session.run(recordWriteScript(place, record.live), recordInput(record), { step });
  if (result.code !== 0) throw fail(result);
}

/** The record's policy, as apply options give it. */
export function policyOf(options: { record?: { policy?: string } }): { policy?: string } {
  return options.record?.policy !== undefined ? { policy: options.record.policy } : {};
}

/**
 * Rules unchanged, policy changed elsewhere in the network: the record is rewritten to name the
 * policy now enforced. A host without a record (rules of an older version) keeps none.
 */
export async function keepPolicy(session: SshSession, place: RecordPlace, record: HostRecord | undefined, policy: string | undefined): Promise<void> {
  if (record === undefined || policy === undefined || record.policy === policy) return;
  await saveRecord(session, place, { rendered: record.rendered, live: 'unchanged', policy }, record.rendered);
}

/** What a delete removes beside the rules: the table's rollback files, and its record when the folder is given. */
export function forgetScript(place: TablePlace, recordDir?: string): string {
  const record = recordDir === undefined ? '' : `\n${recordClearScript({ dir: recordDir, table: place.table })}`;
  return `${forgetRollbackScript(place)}${record}`;
}
