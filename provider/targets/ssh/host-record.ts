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
import { HostError } from './host-error';
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

function files(place: RecordPlace): { rendered: string; live: string; policy: string; keptLive: string } {
  if (!DIR.test(place.dir) || place.dir.includes('..')) throw new Error(`record folder "${place.dir}" is not a plain absolute path`);
  assertIdentifier(place.table, 'table');
  const at = (kind: string) => shQuote(`${place.dir}/${place.table}.${kind}`);
  return { rendered: at('rendered'), live: at('live'), policy: at('policy'), keptLive: at('live.new') };
}

/** Separate the texts of a record on stdin and stdout; the renderers never emit these lines. */
const LIVE_MARKER = '--- netpol live listing ---';
const POLICY_MARKER = '--- netpol policy ---';
const SECTION = { begin: '@@netpol-record-begin', end: '@@netpol-record-end' };

/** Shell lines that print the record between two marker lines (nothing between them when there is none). */
export function recordReadScript(place: RecordPlace): string {
  const f = files(place);
  return [
    `echo '${SECTION.begin}'`,
    `if [ -e ${f.rendered} ]; then cat ${f.rendered}; echo '${LIVE_MARKER}'; cat ${f.live} 2>/dev/null; echo '${POLICY_MARKER}'; cat ${f.policy} 2>/dev/null; fi`,
    `echo '${SECTION.end}'`,
  ].join('\n');
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

/**
 * The command that writes a record from its stdin (recordInput). Without the live listing in it,
 * the listing a read kept on the host (keptLiveScript) becomes the record's.
 */
export function recordWriteScript(place: RecordPlace, liveKept = false): string {
  const f = files(place);
  const useKept = liveKept ? ` && { [ -s ${f.keptLive} ] || { echo "the confirming read's listing was not kept on the host (${f.keptLive})" >&2; exit 1; }; } && mv -f ${f.keptLive} ${f.live}` : '';
  return `mkdir -p ${shQuote(place.dir)} && rm -f ${f.policy}${useKept} && awk -v r=${f.rendered} -v l=${f.live} -v p=${f.policy} '$0=="${LIVE_MARKER}"{f=1;next} $0=="${POLICY_MARKER}"{f=2;next} {print > (f == 2 ? p : f ? l : r)}'`;
}

/**
 * Shell lines for a read that keeps its listing on the host for the record (`$netpol_keep`, see
 * nftables-apply.ts), so the listing is not sent back to it; no keeping when the folder cannot be
 * made (the record's write then fails, saying so).
 */
export function keptLiveScript(place: RecordPlace): string {
  const f = files(place);
  return `if mkdir -p ${shQuote(place.dir)} 2>/dev/null; then netpol_keep=${f.keptLive}; else netpol_keep=; fi`;
}

export function recordInput(record: SavedRecord): string {
  const policy = record.policy !== undefined ? `${POLICY_MARKER}\n${record.policy}\n` : '';
  const live = record.live !== undefined ? `${LIVE_MARKER}\n${record.live.trimEnd()}\n` : '';
  return `${record.rendered.trimEnd()}\n${live}${policy}`;
}

/** A record to write; without `live`, the listing the confirming read kept on the host is its own. */
export type SavedRecord = Omit<HostRecord, 'live'> & { live?: string };

/** Shell line that removes the record (delete). */
export function recordClearScript(place: RecordPlace): string {
  const f = files(place);
  return `rm -f ${f.rendered} ${f.live} ${f.policy} ${f.keptLive}`;
}

/** Writes the record over an open session (the apply's, under the table's lock). */
export async function saveRecord(session: SshSession, place: RecordPlace, record: SavedRecord): Promise<void> {
  const step = 'save record';
  const result = await session.run(recordWriteScript(place, record.live === undefined), recordInput(record), { step });
  if (result.code !== 0) {
    throw new HostError({ host: session.name, step, cause: result.stderr.trim() || `exit ${result.code}`, hint: `The rules are applied; the record in ${place.dir} could not be written (the next plan shows the whole text as changed)` });
  }
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
  await saveRecord(session, place, { ...record, policy });
}

/** What a delete removes beside the rules: the table's rollback files, and its record when the folder is given. */
export function forgetScript(place: TablePlace, recordDir?: string): string {
  const record = recordDir === undefined ? '' : `\n${recordClearScript({ dir: recordDir, table: place.table })}`;
  return `${forgetRollbackScript(place)}${record}`;
}
