/**
 * iptables backend for legacy hosts: `ipset restore` for the sets (filled under a temporary name
 * and swapped in), `iptables-restore --noflush` / `ip6tables-restore --noflush` on the project's own
 * chains, hooked once from FORWARD. Same guard as nftables: rollback timer, confirm, disarm.
 *
 * Like `nft -c`, the whole change is checked before anything live changes: the sets are staged
 * (temporary sets filled, missing real-named sets created empty — both unreferenced) and both
 * texts go through `iptables-restore --test`, which needs the sets to exist to parse `-m set`. A
 * failed check removes what staging created and leaves the host as it was. `--test` parses but
 * never commits, so what only the kernel checks at commit (e.g. a jump to a missing chain) can
 * still fail a live step; such a failure restores the snapshot at once.
 *
 * The whole apply runs under the table's lock (table-lock.ts). The temporary sets carry a name
 * new for each run, and an apply counts as done only when the live sets hold exactly the rendered
 * members as well as the chains carrying the hash: sets are not covered by the chains' comment.
 *
 * The snapshot's restore (iptables-rollback.ts) is checked before the timer is armed. Every
 * read checks each tool's exit status: a host that cannot be read is an error, never "absent".
 * Live steps wait for the xtables lock (legacy iptables) no longer than the timer leaves.
 */
import * as crypto from 'crypto';
import { HostApplyOptions, ApplyResult, DeleteOptions, DeleteResult, HostReadResult, READ_IPSETS_STEP, READ_IPTABLES_STEP } from './apply-options';
import { HostRecord, RecordPlace, forgetScript, keepPolicy, policyOf, recordReadScript, saveRecord, splitRecord } from './host-record';
import { READ_REPORT_SCRIPT, ReadReport, reportWithLock, splitReadReport } from './read-report';
import { HostError, RIGHTS_HINT } from './host-error';
import { confirmOverNewConnection } from './confirm';
import { ARM_STEP, DEFAULT_ROLLBACK_SEC, DEFAULT_STATE_DIR, TablePlace, armFailureHint, armStep, checkTimerSec, hereDoc, restoreNowOrByTimer } from './rollback';
import { Family, IptablesSnapshot, StagedSets, TOOLS, chainOfLine, isStagingName, restoreRun, restoreScript, stageSets } from './iptables-rollback';
import { HostRuleset, IptablesRuleset, TABLE_NAME, hashChainOf, isOwnChain, isOwnSet, rulesText, validateRuleset } from '../../ruleset';
import { bits, formatAddress, parseAddress } from '../../model/net';
import { SshTarget } from './connect';
import { SshSession, withSession } from './session';
import { TableLock, lockTable } from './table-lock';
import { BatchFailure, runBatch, runBatchOrThrow } from './batch';
import { testOnlyPause, testOnlyPauseAt } from './test-pause';
import { TABLES_READ_SCRIPT, filterTablesOf, noteMadeFilterTablesScript, removeMadeFilterTablesScript } from './iptables-filter-table';
import { CHECK_WAIT_SEC, IncrementalPlan, checkDelta, createdSets, deltaBaseProblem, planIncremental, reverseScript, unstageSets } from './iptables-incremental';

/** The project's own part of a host's iptables and ipset state. */
export interface IptablesState extends IptablesSnapshot {
  /**
   * Per family: the first FORWARD rule when it is not the own hook (dockerd moves its jump to
   * DOCKER-USER in front whenever it starts; what such a rule accepts never meets the network's rules).
   */
  behind: Record<Family, string | undefined>;
  /** Temporary sets an interrupted earlier apply left (never referenced by a rule). */
  leftovers: string[];
  /** The host's bridge warnings and NAT rules, read in the same command (see read-report.ts). */
  report: ReadReport;
  /** The host's record (host-record.ts), read in the same command when its folder was given. */
  record?: HostRecord;
  /** Families whose filter table exists (see iptables-filter-table.ts). */
  filterTables: Family[];
}

function assertTable(table: string): void {
  if (!TABLE_NAME.test(table)) throw new Error(`table name "${table}" does not match ${TABLE_NAME}`);
}

/** Every tool's status counts: the first that fails names itself on stderr (`@@failed <command>`) and ends the read. */
function readScript(recordDir: string | undefined, table: string): string {
  return [
    READ_REPORT_SCRIPT,
    ...(recordDir === undefined ? [] : [recordReadScript({ dir: recordDir, table })]),
    'failed() { echo "@@failed $1" >&2; exit 3; }',
    "echo @@v4; iptables-save -t filter || failed 'iptables-save -t filter'",
    "echo @@v6; ip6tables-save -t filter || failed 'ip6tables-save -t filter'",
    "sets=$(ipset list -n) || failed 'ipset list -n'",
    'echo @@sets; printf \'%s\\n\' "$sets"',
    TABLES_READ_SCRIPT,
  ].join('\n');
}

/** The error of a read that could not read: the host, the command that failed, what it said, and the fix. */
function readError(host: string, step: string, command: string, result: { code: number; stderr: string }): HostError {
  const said = result.stderr.replace(/^@@failed .*$/m, '').trim();
  return new HostError({ host, step, cause: `${command}: ${said || `exit ${result.code}`}`, hint: RIGHTS_HINT });
}

function setSaveScript(sets: string[]): string {
  return sets.map((s) => `ipset save ${s}`).join('\n') || 'true';
}

async function readState(session: SshSession, table: string, recordDir?: string): Promise<IptablesState> {
  assertTable(table);
  const result = await session.run(readScript(recordDir, table), undefined, { step: READ_IPTABLES_STEP });
  if (result.code !== 0) {
    const command = /^@@failed (.+)$/m.exec(result.stderr)?.[1] ?? 'the read of iptables and ipset state';
    throw readError(session.name, READ_IPTABLES_STEP, command, result);
  }
  const { report, rest: listing } = splitReadReport(result.stdout, session.name, READ_IPTABLES_STEP);
  const { record, rest } = recordDir === undefined ? { record: undefined, rest: listing } : splitRecord(listing, session.name, READ_IPTABLES_STEP);
  const sections: Record<string, string[]> = { v4: [], v6: [], sets: [], tables: [] };
  let current = '';
  for (const line of rest.split('\n')) {
    if (line.startsWith('@@')) current = line.slice(2);
    else if (current in sections && line) sections[current].push(line);
  }
  const state: IptablesState = { chains: { v4: [], v6: [] }, hooks: { v4: [], v6: [] }, behind: { v4: undefined, v6: undefined }, sets: [], leftovers: [], report, filterTables: filterTablesOf(sections.tables), ...(record ? { record } : {}) };
  for (const family of ['v4', 'v6'] as const) {
    const first = sections[family].find((l) => l.startsWith('-A FORWARD '));
    const firstHook = first === undefined ? undefined : /^-A FORWARD -j (\S+)$/.exec(first)?.[1];
    if (first !== undefined && !(firstHook && isOwnChain(table, firstHook))) state.behind[family] = first;
    for (const line of sections[family]) {
      const chain = chainOfLine(line);
      const hook = /^-A FORWARD -j (\S+)$/.exec(line)?.[1];
      if (hook && isOwnChain(table, hook)) state.hooks[family].push(hook);
      else if (chain && isOwnChain(table, chain)) state.chains[family].push(line.startsWith(':') ? line.replace(/\[\d+:\d+\]$/, '[0:0]') : line);
    }
  }
  state.leftovers = sections.sets.filter((s) => isOwnSet(table, s) && isStagingName(table, s)).sort();
  const ownSets = sections.sets.filter((s) => isOwnSet(table, s) && !isStagingName(table, s)).sort();
  if (ownSets.length > 0) {
    const saved = await session.run(setSaveScript(ownSets), undefined, { step: READ_IPSETS_STEP });
    if (saved.code !== 0) throw readError(session.name, READ_IPSETS_STEP, 'ipset save', saved);
    state.sets = sortedMembers(saved.stdout.split('\n').filter(Boolean));
  }
  return state;
}

/** `ipset save` lines with each set's `add` lines sorted: the kernel lists members in hash order. */
function sortedMembers(lines: string[]): string[] {
  const out: string[] = [];
  let adds: string[] = [];
  const flush = (): void => {
    out.push(...adds.sort());
    adds = [];
  };
  for (const line of lines) {
    if (line.startsWith('add ')) adds.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

function hashOfChains(lines: string[], entryChain?: string): string | undefined {
  for (const line of lines) {
    const m = /^-A (\S+) .*--comment "?netpol:([0-9a-f]+)"?/.exec(line);
    if (m && (entryChain === undefined || m[1] === entryChain)) return m[2];
  }
  return undefined;
}

function stateText(state: IptablesState): string {
  const hooks = (family: Family) => [
    ...state.hooks[family].map((h) => `-A FORWARD -j ${h}`),
    ...(state.hooks[family].length > 0 && state.behind[family] ? [`# FORWARD runs "${state.behind[family]}" before the network's chain: what it accepts bypasses the rules`] : []),
  ];
  return ['# ipv4', ...state.chains.v4, ...hooks('v4'), '# ipv6', ...state.chains.v6, ...hooks('v6'), '# ipset', ...state.sets].join('\n') + '\n';
}

function isPresent(state: IptablesState): boolean {
  return state.chains.v4.length + state.chains.v6.length + state.hooks.v4.length + state.hooks.v6.length + state.sets.length > 0;
}

function toRead(state: IptablesState): HostReadResult {
  const recorded = state.record ? { record: state.record } : {};
  if (!isPresent(state)) return { present: false, ...state.report, ...recorded };
  const v4 = hashOfChains(state.chains.v4);
  const v6 = hashOfChains(state.chains.v6);
  const behind = (['v4', 'v6'] as const).map((f) => (state.hooks[f].length > 0 ? state.behind[f] : undefined)).find((b) => b !== undefined);
  return { present: true, hash: v4 === v6 ? v4 : undefined, text: stateText(state), ...state.report, ...recorded, ...(behind !== undefined ? { hookBehind: behind } : {}) };
}

/** No own chain, hook or set: what a delete restores. */
const NOTHING: IptablesSnapshot = { chains: { v4: [], v6: [] }, hooks: { v4: [], v6: [] }, sets: [] };

interface ParsedPayload extends StagedSets {
  /** Per family: the own chains the text declares. */
  chains: Record<Family, string[]>;
}

/**
 * Splits the set update into staging and swap, with temporary names of this `run`. The texts
 * passed validateRuleset (own chains and sets only, see provider/ruleset/iptables-guard.ts).
 */
export function parsePayload(table: string, payload: IptablesRuleset, run: string): ParsedPayload {
  const staged = stageSets(table, payload.ipset, run);
  const chains: Record<Family, string[]> = { v4: [], v6: [] };
  for (const family of ['v4', 'v6'] as const) {
    for (const raw of payload[family].split('\n')) {
      const chain = /^:(\S+)/.exec(raw.trim())?.[1];
      if (chain) chains[family].push(chain);
    }
    if (!chains[family].includes(payload.entryChain)) throw new Error(`the ${family} text does not declare the entry chain ${payload.entryChain}`);
  }
  return { chains, ...staged };
}

/** A set member as `ipset save` prints it: a host without its /32 or /128, addresses in canonical form. */
function memberKey(member: string): string {
  const [addrText, prefixText] = member.split('/');
  const addr = parseAddress(addrText);
  if (!addr) return member;
  const prefix = prefixText === undefined ? bits(addr.family) : Number(prefixText);
  return prefix === bits(addr.family) ? formatAddress(addr) : `${formatAddress(addr)}/${prefix}`;
}

/**
 * Per set: its type, family and members (sorted), from `ipset save` output or `ipset restore`
 * input alike. Create options that do not change what a set matches (hashsize, initval…) are left out.
 */
export function setContents(lines: readonly string[]): Map<string, string> {
  const types = new Map<string, string>();
  const members = new Map<string, string[]>();
  for (const raw of lines) {
    const [verb, name, ...rest] = raw.trim().split(/\s+/);
    if (verb === 'create' && name) {
      const family = rest[rest.indexOf('family') + 1];
      types.set(name, `${rest[0]} ${rest.includes('family') ? family : 'inet'}`);
      members.set(name, members.get(name) ?? []);
    } else if (verb === 'add' && name && rest[0]) {
      members.set(name, [...(members.get(name) ?? []), memberKey(rest[0])]);
    }
  }
  return new Map([...types].map(([name, type]) => [name, [type, ...[...new Set(members.get(name))].sort()].join(' ')]));
}

/** Names of the sets in a state (from its `create` lines). */
function setNamesOf(state: IptablesState): string[] {
  return state.sets.filter((l) => l.startsWith('create ')).map((l) => l.split(/\s+/)[1]);
}

/**
 * The sets staging creates: the temporary ones, and the real-named ones that did not exist before.
 * Until the first live step no rule references them. (Temporary sets an interrupted earlier run
 * left carry other names; the apply removes them right after taking the lock.)
 */
function setsCreatedByStaging(parsed: ParsedPayload, before: IptablesState): string[] {
  const existed = setNamesOf(before);
  return [...parsed.stagingSets, ...parsed.sets.filter((s) => !existed.includes(s))];
}

/** Destroys those of `sets` that exist (staging may have stopped half-way); exits non-zero if one could not be destroyed. */
function destroySetsScript(sets: string[]): string {
  const lines = sets.map((s) => `if ipset list -n ${s} >/dev/null 2>&1; then ipset destroy ${s} || rc=1; fi`);
  return ['rc=0', ...lines, 'exit $rc'].join('\n');
}

/**
 * After the new chains are in: hook the entry chain once, unhook and remove own chains and sets
 * that are gone. `wait` bounds each wait for the xtables lock (seconds).
 */
function finalizeScript(table: string, parsed: ParsedPayload, entryChain: string, before: IptablesState, wait: number): string {
  const lines = ['set -e'];
  for (const family of ['v4', 'v6'] as const) {
    const cmd = `${TOOLS[family].cmd} -w ${wait}`;
    if (before.hooks[family].includes(entryChain) && before.behind[family] !== undefined) {
      // Back in front, in one transaction: FORWARD is never without the hook.
      lines.push(hereDoc(`${TOOLS[family].restore} -w ${wait} --noflush`, ['*filter', `-D FORWARD -j ${entryChain}`, `-I FORWARD 1 -j ${entryChain}`, 'COMMIT'].join('\n')).trimEnd());
    } else {
      // -C exits 1 when the rule is missing, other codes when it could not check (lock, rights).
      lines.push(`rc=0; ${cmd} -C FORWARD -j ${entryChain} 2>/dev/null || rc=$?`, `if [ $rc = 1 ]; then ${cmd} -I FORWARD 1 -j ${entryChain}; elif [ $rc != 0 ]; then ${cmd} -C FORWARD -j ${entryChain}; fi`);
    }
    for (const hook of before.hooks[family]) if (hook !== entryChain) lines.push(`${cmd} -D FORWARD -j ${hook}`);
    const stale = before.chains[family].filter((l) => l.startsWith(':')).map((l) => chainOfLine(l) ?? '').filter((c) => c && !parsed.chains[family].includes(c));
    for (const c of stale) lines.push(`${cmd} -F ${c}`);
    for (const c of stale) lines.push(`${cmd} -X ${c}`);
  }
  for (const s of setNamesOf(before)) if (isOwnSet(table, s) && !parsed.sets.includes(s)) lines.push(`ipset destroy ${s}`);
  return lines.join('\n');
}


/**
 * Seconds a live step may wait for the xtables lock: what is left of the timer's time, less three
 * seconds. The client gives the step one second more, the host's `timeout` ends it a second after
 * that and kills it a second later still, all before the timer restores: a step still waiting
 * then could commit over the restored rules. Undefined when less than a second would be left.
 */
function stepWaitSec(deadline: number): number | undefined {
  const wait = Math.floor((deadline - Date.now()) / 1000) - 3;
  return wait >= 1 ? wait : undefined;
}

function placeOf(table: string, options: Pick<HostApplyOptions, 'stateDir'>): TablePlace {
  return { table, stateDir: options.stateDir ?? DEFAULT_STATE_DIR };
}

const CHECK_SNAPSHOT = 'check the snapshot (iptables-restore --test)';

/**
 * Stages the sets and dry-runs both texts against them, then the snapshot's restore in its check
 * mode (sets staged and removed, both texts through `--test`), so a snapshot that could not be put
 * back is found before anything live changes: one host command. On failure removes what staging
 * created and throws; the live chains, hooks and sets are untouched either way.
 */
async function checkChange(session: SshSession, parsed: ParsedPayload, payload: IptablesRuleset, before: IptablesState, restore: string): Promise<void> {
  const checks: Array<{ step: string; command: string; stdin: string }> = [
    { step: 'stage sets (ipset restore)', command: 'ipset restore -exist', stdin: parsed.stageIpset },
    { step: 'check rules (iptables-restore --test)', command: `iptables-restore -w ${CHECK_WAIT_SEC} --test --noflush`, stdin: payload.v4 },
    { step: 'check rules (ip6tables-restore --test)', command: `ip6tables-restore -w ${CHECK_WAIT_SEC} --test --noflush`, stdin: payload.v6 },
    // On stdin: as a command line the snapshot of a large ruleset exceeds the kernel's limit for one argument (128 KiB).
    { step: CHECK_SNAPSHOT, command: 'sh -s check', stdin: restore },
  ];
  await runBatchOrThrow(session, checks, async (failure) => {
    const leftover = await unstage(session, parsed, before);
    const unchanged = leftover ? `No live rule or set was changed, but ${leftover}` : 'Nothing was changed on the host';
    return failure.step === CHECK_SNAPSHOT ? `The rules live now could not be put back if the apply failed, so it did not start. ${unchanged}` : unchanged;
  });
}

/** Removes what staging created. Returns undefined when that worked, else what may be left over. */
async function unstage(session: SshSession, parsed: ParsedPayload, before: IptablesState): Promise<string | undefined> {
  const created = setsCreatedByStaging(parsed, before);
  const r = await session.run(destroySetsScript(created), undefined, { step: 'remove staged sets' });
  if (r.code === 0) return undefined;
  return `removing the staged sets failed (${r.stderr.trim() || `exit ${r.code}`}); some of ${created.join(', ')} may be left (unreferenced, safe to destroy)`;
}

/** What keeps `state` from being the applied payload (chains' hash, hooks, set contents), or undefined. */
function appliedProblem(state: IptablesState, payload: IptablesRuleset, hash: string): string | undefined {
  const entry = payload.entryChain;
  for (const family of ['v4', 'v6'] as const) {
    const found = hashOfChains(state.chains[family], hashChainOf(entry));
    if (found !== hash) return `the ${family} hash chain ${hashChainOf(entry)} carries hash ${found ?? '(none)'}, expected ${hash}`;
    if (!state.hooks[family].includes(entry)) return `FORWARD does not jump to ${entry} (${family})`;
    // dockerd puts its DOCKER-USER jump in front whenever it starts: apply, not only --force, puts the hook back.
    if (state.behind[family] !== undefined) return `FORWARD runs "${state.behind[family]}" before ${entry} (${family})`;
  }
  const want = setContents(payload.ipset.split('\n'));
  const have = setContents(state.sets);
  for (const name of new Set([...want.keys(), ...have.keys()])) {
    if (want.get(name) !== have.get(name)) return `set ${name} ${have.has(name) ? (want.has(name) ? 'does not hold the rendered members' : 'is not part of the rendered rules') : 'is missing'}`;
  }
  return undefined;
}

/** One host command of the live part, run while the timer is armed; its failure restores the snapshot. */
interface LiveStep {
  step: string;
  /** The command, given how many seconds it may wait for the xtables lock. */
  command: (wait: number) => string;
  stdin?: string;
}

/**
 * A checked change: the restore the timer is armed with, what removes the check's staged sets
 * when arming fails, and the live steps that make the change once it is armed.
 */
interface Checked {
  restore: string;
  unstage: () => Promise<string | undefined>;
  steps: LiveStep[];
}

/** The delta, checked (its sets staged, its chains through `--test`); the timer restores it with its reverse. */
async function checkIncremental(session: SshSession, plan: IncrementalPlan, before: IptablesState): Promise<Checked> {
  const created = createdSets(plan.forward).filter((s) => !setNamesOf(before).includes(s));
  const restore = reverseScript(plan.reverse);
  await checkDelta(session, plan.forward, restore, created);
  const { forward } = plan;
  return {
    restore,
    unstage: () => unstageSets(session, created),
    steps: [
      ...(forward.sets ? [{ step: 'update sets (ipset restore)', command: () => 'ipset restore -exist', stdin: forward.sets }] : []),
      { step: 'iptables-restore (changed chains)', command: (wait) => `iptables-restore -w ${wait} --noflush`, stdin: forward.v4 },
      { step: 'ip6tables-restore (changed chains)', command: (wait) => `ip6tables-restore -w ${wait} --noflush`, stdin: forward.v6 },
      ...(forward.destroy ? [{ step: 'destroy removed sets (ipset restore)', command: () => 'ipset restore', stdin: forward.destroy }] : []),
    ],
  };
}

/** The whole ruleset and the snapshot's restore checked (one host command); the timer restores the snapshot. */
async function checkFull(
  session: SshSession,
  place: TablePlace,
  { table, parsed, payload, before, run }: { table: string; parsed: ParsedPayload; payload: IptablesRuleset; before: IptablesState; run: string },
): Promise<Checked> {
  const restore = restoreScript(table, before, restoreRun(run));
  await checkChange(session, parsed, payload, before, restore);
  const made = (['v4', 'v6'] as const).filter((f) => !before.filterTables.includes(f));
  return {
    restore,
    unstage: () => unstage(session, parsed, before),
    steps: [
      { step: 'swap sets (ipset restore)', command: () => 'ipset restore -exist', stdin: parsed.swapIpset },
      { step: 'iptables-restore', command: (wait) => `iptables-restore -w ${wait} --noflush`, stdin: payload.v4 },
      { step: 'ip6tables-restore', command: (wait) => `ip6tables-restore -w ${wait} --noflush`, stdin: payload.v6 },
      { step: 'hook into FORWARD', command: (wait) => finalizeScript(table, parsed, payload.entryChain, before, wait) },
      { step: 'note the filter tables the apply made', command: () => noteMadeFilterTablesScript(place, made) },
    ],
  };
}

/**
 * Arms the timer and runs the live steps in order, as one host command (batch.ts) unless
 * `between` must run after arming (a test's hook). The live steps are bounded by what is left of
 * the timer's time, counted from before arming (each step may wait that long for the xtables lock;
 * the host ends the whole command before the timer fires). When arming fails, what the check
 * staged is removed and nothing changed; the first live step that fails (or that the timer leaves
 * no time for) restores the snapshot at once. Either throws, naming the step.
 */
async function armAndRun(session: SshSession, place: TablePlace, timerSec: number, { restore, unstage: unstageIt, steps }: Checked, between?: () => Promise<void>): Promise<void> {
  const arm = armStep(place, restore, timerSec);
  const deadline = Date.now() + timerSec * 1000;
  const live = (wait: number | undefined) => (wait === undefined ? [] : steps.map((s) => ({ step: s.step, command: s.command(wait), stdin: s.stdin })));
  let wait = stepWaitSec(deadline);
  let failure: BatchFailure;
  try {
    failure = await runBatch(session, between ? [arm] : [arm, ...live(wait)], { timeoutMs: ((wait ?? 0) + 1) * 1000 });
    if (failure === undefined && between) {
      await between();
      wait = stepWaitSec(deadline);
      failure = await runBatch(session, live(wait), { timeoutMs: ((wait ?? 0) + 1) * 1000 });
    }
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    failure = { step: err.step, cause: err.causeText };
  }
  if (failure !== undefined && failure.step === ARM_STEP) {
    const leftover = await unstageIt();
    const hint = armFailureHint(failure.cut, timerSec);
    throw new HostError({ host: session.name, step: ARM_STEP, cause: failure.cause, hint: leftover ? `${hint}; also, ${leftover}` : hint });
  }
  if (failure === undefined && wait === undefined) failure = { step: steps[0].step, cause: `the rollback timer's ${timerSec} s were nearly up before this step` };
  if (failure === undefined) return;
  const restored = await restoreNowOrByTimer(session, place, timerSec);
  throw new HostError({ host: session.name, step: failure.step, cause: failure.cause, hint: `${restored}${wait === undefined ? '; raise rollbackTimerSec' : ''}` });
}

/** Applies one host's iptables + ipset ruleset. Throws HostError naming the host and the failed step. */
export async function applyIptables(target: SshTarget, ruleset: HostRuleset, options: HostApplyOptions = {}): Promise<ApplyResult> {
  const name = ruleset.host;
  let parsed: ParsedPayload;
  const run = crypto.randomBytes(2).toString('hex');
  try {
    validateRuleset(ruleset);
    if (!ruleset.iptables) throw new Error('backend iptables needs the iptables texts');
    parsed = parsePayload(ruleset.table, ruleset.iptables, run);
  } catch (err) {
    throw new HostError({ host: name, step: 'validate ruleset', cause: (err as Error).message, hint: 'This is a bug in the renderer; nothing was sent to the host' });
  }
  const payload = ruleset.iptables;
  const { table, hash } = ruleset;
  const place = placeOf(table, options);
  const timerSec = options.rollbackTimerSec ?? DEFAULT_ROLLBACK_SEC;
  checkTimerSec(timerSec);
  const recordPlace: RecordPlace | undefined = options.record ? { dir: options.record.dir, table } : undefined;

  // The caller's connection when it has one open (it closes it), else one of our own.
  const first = options.session?.isOpen ? options.session : await SshSession.open(target, name);
  let lock: TableLock | undefined;
  try {
    // The table's lock, before anything is read: one apply of this table at a time, from any door.
    lock = await lockTable(first, place);
    const locked = lock;
    const before = await readState(first, table, recordPlace?.dir);
    if (before.leftovers.length > 0) {
      const r = await first.run(destroySetsScript(before.leftovers), undefined, { step: 'remove leftover staged sets' });
      if (r.code !== 0) throw new HostError({ host: name, step: 'remove leftover staged sets', cause: r.stderr.trim() || `exit ${r.code}`, hint: 'Nothing was changed; the sets are unreferenced and safe to destroy by hand' });
    }
    if (!options.force && appliedProblem(before, payload, hash) === undefined) {
      if (recordPlace) await keepPolicy(first, recordPlace, before.record, options.record?.policy);
      return { host: name, changed: false, hash, liveText: stateText(before), ...reportWithLock(before.report, locked.stale) };
    }

    const read = toRead(before);
    const base = options.force ? 'force' : deltaBaseProblem(before.record, stateText(before), read.hash);
    const plan = base === undefined && before.record && read.hash ? planIncremental(table, hash, read.hash, before.record, payload) : undefined;
    // A plan that says why it cannot be a delta (a string) means the full path, as no plan does.
    const delta = typeof plan === 'string' ? undefined : plan;
    const mode: 'full' | 'incremental' = delta ? 'incremental' : 'full';
    const sentBefore = first.bytesSent;
    const checked = delta ? await checkIncremental(first, delta, before) : await checkFull(first, place, { table, parsed, payload, before, run });
    // A test's hook or pause after arming needs arming and the live steps in two commands.
    const afterArm = options.hooks?.afterArm;
    const between = afterArm || testOnlyPauseAt('after-arm') ? async () => { await afterArm?.(); await testOnlyPause('after-arm', name); } : undefined;
    await armAndRun(first, place, timerSec, checked, between);
    await options.hooks?.afterApplyBeforeConfirm?.();
    await testOnlyPause('after-apply', name);

    const live = await confirmOverNewConnection({ target, host: name, first, place, timerSec, options, read: (confirm) => readState(confirm, table) });
    const problem = appliedProblem(live, payload, hash);
    if (problem) {
      throw new HostError({ host: name, step: 'confirm', cause: `after the apply ${problem}`, hint: 'Another process may be changing the rules concurrently' });
    }
    const liveText = stateText(live);
    const bytesSent = first.bytesSent - sentBefore;
    if (recordPlace) await saveRecord(first, recordPlace, { rendered: rulesText(ruleset), live: { text: liveText }, ...policyOf(options) }, before.record?.rendered);
    return { host: name, changed: true, hash, liveText, mode, bytesSent, ...reportWithLock(live.report, locked.stale) };
  } finally {
    await lock?.release();
    if (first !== options.session) first.close();
  }
}

/** Reads the project's chains and sets from a host (with its record, given the folder), for plan, status and refresh. */
export async function readIptables(target: SshTarget, host: string, table: string, recordDir?: string): Promise<HostReadResult> {
  return withSession(target, host, async (session) => toRead(await readState(session, table, recordDir)));
}

/**
 * Removes the FORWARD hook, own chains (both families), own sets and rollback files, under the
 * table's lock: the restore of an empty snapshot. Nothing there is fine; a host that cannot be read is not.
 */
export async function deleteIptables(target: SshTarget, host: string, table: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  assertTable(table);
  return withSession(target, host, async (session) => {
    const lock = await lockTable(session, placeOf(table, options));
    try {
      const before = await readState(session, table);
      const purge = restoreScript(table, NOTHING, crypto.randomBytes(2).toString('hex'));
      const r = await session.run(`${forgetScript(placeOf(table, options), options.recordDir)}\n${purge}`, undefined, { step: 'delete rules' });
      if (r.code !== 0) throw new HostError({ host, step: 'delete rules', cause: r.stderr.trim() || `exit ${r.code}` });
      const after = await readState(session, table);
      if (isPresent(after)) throw new HostError({ host, step: 'delete rules', cause: `still present after delete:\n${stateText(after)}` });
      const made = await session.run(removeMadeFilterTablesScript(placeOf(table, options)), undefined, { step: 'remove the filter tables the apply made' });
      if (made.code !== 0) throw new HostError({ host, step: 'remove the filter tables the apply made', cause: made.stderr.trim() || `exit ${made.code}`, hint: "The network's rules are gone; only an empty filter table the first apply made is left" });
      return { host, deleted: isPresent(before), ...(lock.stale.length > 0 ? { warnings: lock.stale } : {}) };
    } finally {
      await lock.release();
    }
  });
}
