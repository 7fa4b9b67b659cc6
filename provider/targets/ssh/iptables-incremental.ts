/**
 * The incremental apply of the iptables backend (iptables-delta.ts computes what it sends): when
 * it may run, how it is checked before anything live changes, and what the rollback timer runs.
 *
 * Base: the host's record (host-record.ts) of the last apply, valid only when the live listing is
 * the recorded one and carries the recorded text's hash. A hand edit, another tool's change, a
 * dockerd that moved its FORWARD jump in front, a missing record: the listing differs, and the apply
 * is the full one that repairs it.
 *
 * Check: the sets the delta creates are made first (empty, under their real names: no rule names
 * them yet) and both families' texts go through `iptables-restore --test`; a failed check destroys
 * what it created and changes nothing else.
 *
 * Rollback: the reverse delta (new text → recorded text). Under the table's lock and from a base
 * that equals the recorded text, it puts back exactly the previous rules and sets — the namespace
 * oracle (test/targets/ssh/iptables-delta.test.ts) proves full(A)+delta(A→B) = full(B) for both
 * directions — and it costs what the change costs, where the full snapshot would resend the whole
 * ruleset. Its steps are idempotent toward the previous state (`-exist` adds and dels, chains
 * declared and refilled, sets destroyed only when present), so it also undoes a delta that stopped
 * half-way. It is checked (`--test`) before the timer is armed, like the full snapshot's restore.
 */
import type { HostRecord } from './host-record';
import { HostError } from './host-error';
import { runBatchOrThrow } from './batch';
import type { SshSession } from './session';
import { IptablesRuleset, ownership, rulesText } from '../../ruleset';
import { validateIpsetText, validateRestoreText } from '../../ruleset/iptables-guard';
import { IptablesDelta, iptablesDelta, splitRulesText } from './iptables-delta';
import { TOOLS } from './iptables-rollback';
import { hereDoc } from './rollback';

export type Incremental = Extract<IptablesDelta, { kind: 'incremental' }>;

/** The forward and reverse deltas of an incremental apply. */
export interface IncrementalPlan {
  forward: Incremental;
  reverse: Incremental;
}

/** Why the record is no base for a delta, or undefined when it is. */
export function deltaBaseProblem(record: HostRecord | undefined, liveText: string, liveHash: string | undefined): string | undefined {
  if (!record) return 'the host has no record of the last apply';
  if (record.live.trimEnd() !== liveText.trimEnd()) return 'the live rules are not the ones the last apply left (changed by hand or by another tool)';
  const recorded = /--comment "?netpol:([0-9a-f]+)"?/.exec(record.rendered)?.[1];
  if (recorded === undefined || recorded !== liveHash) return `the live hash ${liveHash ?? '(none)'} is not the recorded ${recorded ?? '(none)'}`;
  return undefined;
}

/**
 * The plan from the record to `next` (table, hash), or why it must be a full apply. Both deltas
 * pass the guard in delta mode, so nothing but own chains and sets is named.
 */
export function planIncremental(table: string, hash: string, previousHash: string, record: HostRecord, next: IptablesRuleset): IncrementalPlan | string {
  const forward = iptablesDelta(record.rendered, next);
  if (forward.kind === 'full') return forward.reason;
  const old = splitRulesText(record.rendered);
  if (!old) return 'the recorded rules text is not an iptables rules text';
  const previous: IptablesRuleset = { ...old, entryChain: next.entryChain };
  const reverse = iptablesDelta(rulesText({ host: '', backend: 'iptables', table, hash, iptables: next }), previous);
  if (reverse.kind === 'full') return `the way back: ${reverse.reason}`;
  const own = ownership(table, next.entryChain);
  try {
    for (const [d, h] of [[forward, hash], [reverse, previousHash]] as const) {
      validateIpsetText(d.sets + d.destroy, own, { delta: true });
      for (const f of ['v4', 'v6'] as const) validateRestoreText(f, d[f], h, own, { delta: true });
    }
  } catch (err) {
    return `the delta does not pass the guard (${(err as Error).message})`;
  }
  return { forward, reverse };
}

/** Seconds a check (before the timer is armed) waits for the xtables lock. */
export const CHECK_WAIT_SEC = 10;

/** Names of the sets a delta's `sets` input creates. */
export function createdSets(d: Incremental): string[] {
  return d.sets.split('\n').filter((l) => l.startsWith('create ')).map((l) => l.split(/\s+/)[1]);
}

/** `ipset restore` input that creates the delta's new sets, empty (the check's staging). */
export function stageCreates(d: Incremental): string {
  const lines = d.sets.split('\n').filter((l) => l.startsWith('create '));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** Destroys those of `sets` that exist; exits non-zero if one could not be destroyed. */
export function destroyPresentScript(sets: readonly string[]): string {
  return ['rc=0', ...sets.map((s) => `if ipset list -n ${s} >/dev/null 2>&1; then ipset destroy ${s} || rc=1; fi`), 'exit $rc'].join('\n');
}

/**
 * The rollback timer's script: the reverse delta. Run with `check` it only tests both families'
 * texts (the state is still the previous one, every set they name exists).
 */
export function reverseScript(reverse: Incremental): string {
  const destroyed = reverse.destroy.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[1]);
  const lines = [
    'mode=${1:-restore}',
    'tmp=$(mktemp -d) || exit 1',
    "trap 'rm -rf \"$tmp\"' EXIT",
    'fail() { echo "restore of the previous rules: $1" >&2; exit 1; }',
    hereDoc('cat > "$tmp/sets"', reverse.sets || '\n').trimEnd(),
    hereDoc('cat > "$tmp/v4"', reverse.v4).trimEnd(),
    hereDoc('cat > "$tmp/v6"', reverse.v6).trimEnd(),
    'if [ "$mode" = check ]; then',
    ...(['v4', 'v6'] as const).map((f) => `  ${TOOLS[f].restore} -w --test --noflush < "$tmp/${f}" || fail '${TOOLS[f].restore} --test rejected it'`),
    '  exit 0',
    'fi',
    `ipset restore -exist < "$tmp/sets" || fail 'ipset restore of the previous members failed'`,
    'rc=0',
    ...(['v4', 'v6'] as const).map((f) => `${TOOLS[f].restore} -w --noflush < "$tmp/${f}" || { echo "restore of the previous rules: ${TOOLS[f].restore} failed" >&2; rc=1; }`),
    ...destroyed.map((s) => `if ipset list -n ${s} >/dev/null 2>&1; then ipset destroy ${s} || rc=1; fi`),
    'exit $rc',
  ];
  return `${lines.join('\n')}\n`;
}

/** Destroys the sets a delta's check created. Returns undefined when that worked, else what may be left over. */
export async function unstageSets(session: SshSession, created: string[]): Promise<string | undefined> {
  if (created.length === 0) return undefined;
  const r = await session.run(destroyPresentScript(created), undefined, { step: 'remove staged sets' });
  if (r.code === 0) return undefined;
  return `removing the staged sets failed (${r.stderr.trim() || `exit ${r.code}`}); some of ${created.join(', ')} may be left (unreferenced, safe to destroy)`;
}

/**
 * The incremental apply's check (iptables-incremental.ts): the new sets created empty, both
 * families' delta texts and the reverse delta through `--test`. On failure removes what it created
 * and throws; the live chains, hooks and sets are untouched either way.
 */
export async function checkDelta(session: SshSession, forward: Incremental, restore: string, created: string[]): Promise<void> {
  const stage = stageCreates(forward);
  const checks: Array<{ step: string; command: string; stdin?: string; hint?: string }> = [
    ...(stage ? [{ step: 'stage new sets (ipset restore)', command: 'ipset restore -exist', stdin: stage }] : []),
    { step: 'check changed chains (iptables-restore --test)', command: `iptables-restore -w ${CHECK_WAIT_SEC} --test --noflush`, stdin: forward.v4 },
    { step: 'check changed chains (ip6tables-restore --test)', command: `ip6tables-restore -w ${CHECK_WAIT_SEC} --test --noflush`, stdin: forward.v6 },
    { step: 'check the way back (iptables-restore --test)', command: 'sh -s check', stdin: restore, hint: 'The rules live now could not be put back if the apply failed, so it did not start. ' },
  ];
  await runBatchOrThrow(session, checks, async (failure) => {
    const leftover = await unstageSets(session, created);
    const hint = checks.find((c) => c.step === failure.step)?.hint ?? '';
    return `${hint}${leftover ? `No live rule or set was changed, but ${leftover}` : 'Nothing was changed on the host'}`;
  });
}

