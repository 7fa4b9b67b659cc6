/**
 * The iptables backend's snapshot restore: the script the host-side timer (or a failed live step)
 * runs to put back the project's chains, hooks and sets as they were before an apply, and the set
 * staging it shares with the apply.
 *
 * It restores before it deletes, and checks before it restores: the saved sets are staged under
 * temporary names, then each family's restore text (built on the host from what is live then:
 * flush and re-fill every own chain, unhook and re-hook FORWARD, remove own chains the snapshot
 * lacks) goes through `iptables-restore --test`. Only when all of that passed do the sets swap
 * and each family's text commit, as one `iptables-restore --noflush` transaction each. A restore
 * that cannot be made leaves the current rules as they are, never fewer. Run with the argument
 * `check`, the script stops after the checks (and removes what it staged): the apply runs it so
 * before arming the timer, so a snapshot that could not be put back is found while nothing changed.
 */
import * as crypto from 'crypto';
import { chainPrefix } from '../../ruleset';
import { hereDoc } from './rollback';

export type Family = 'v4' | 'v6';
export const TOOLS: Record<Family, { cmd: string; save: string; restore: string }> = {
  v4: { cmd: 'iptables', save: 'iptables-save', restore: 'iptables-restore' },
  v6: { cmd: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

/** What a restore puts back: the project's own part of a host's iptables and ipset state. */
export interface IptablesSnapshot {
  /** Per family: `:CHAIN - [0:0]` and `-A CHAIN ...` lines of own chains, as iptables-save prints them. */
  chains: Record<Family, string[]>;
  /** Per family: own chains FORWARD jumps to. */
  hooks: Record<Family, string[]>;
  /** `ipset save` output of own sets. */
  sets: string[];
}

/**
 * The temporary name a set is filled under: `<table>_t` + 4 hex digits new for each run + 5 of the
 * set name's hash (31 characters at most with a 20-character table). Two runs never share one.
 */
function stagingName(table: string, run: string, set: string): string {
  return `${table}_t${run}${crypto.createHash('sha256').update(set).digest('hex').slice(0, 5)}`;
}

/** Temporary names of this scheme, and of the earlier one (8 hex digits, the same for every run). */
export function isStagingName(table: string, set: string): boolean {
  return new RegExp(`^${table}_t[0-9a-f]{8,9}$`).test(set);
}

/** A run id for the restore's staging, never the apply's own (`run`). */
export function restoreRun(run: string): string {
  return (parseInt(run, 16) ^ 0x8000).toString(16).padStart(4, '0');
}

export interface StagedSets {
  /** The sets the text creates, by their real names. */
  sets: string[];
  /** The temporary names they are filled under before the swap. */
  stagingSets: string[];
  /** `ipset restore` input that changes nothing live: creates missing real-named sets (empty), creates and fills the temporary ones. */
  stageIpset: string;
  /** `ipset restore` input that swaps the filled temporary sets in and destroys them. */
  swapIpset: string;
}

/** Splits `ipset restore` input (or `ipset save` output) into staging and swap, with temporary names of this `run`. */
export function stageSets(table: string, ipsetText: string, run: string): StagedSets {
  if (!/^[0-9a-f]{4}$/.test(run)) throw new Error(`run id "${run}" is not 4 hex digits`);
  const sets: string[] = [];
  const stagingSets: string[] = [];
  const staged: string[] = [];
  const swaps: string[] = [];
  const tmpOf = (name: string): string => stagingName(table, run, name);
  for (const [i, raw] of ipsetText.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [verb, name, ...rest] = line.split(/\s+/);
    switch (verb) {
      case 'create':
        sets.push(name);
        stagingSets.push(tmpOf(name));
        staged.push(`create ${name} ${rest.join(' ')}`, `create ${tmpOf(name)} ${rest.join(' ')}`, `flush ${tmpOf(name)}`);
        swaps.push(`swap ${tmpOf(name)} ${name}`, `destroy ${tmpOf(name)}`);
        break;
      case 'add':
        if (!sets.includes(name)) throw new Error(`ipset line ${i + 1}: add to ${name} before its create line`);
        staged.push(`add ${tmpOf(name)} ${rest.join(' ')}`);
        break;
      case 'flush':
        break; // the temporary set starts empty
      default:
        throw new Error(`ipset line ${i + 1}: only create, flush and add lines are accepted, found "${verb}"`);
    }
  }
  return { sets, stagingSets, stageIpset: staged.join('\n') + '\n', swapIpset: swaps.join('\n') + '\n' };
}

/** `name` from a `:name ...` or `-A name ...` line. */
export function chainOfLine(line: string): string | undefined {
  return /^(?::|-A )(\S+)/.exec(line)?.[1];
}

/** A file in the script's temporary folder, written from a here-document. */
function fileOf(name: string, lines: readonly string[]): string {
  return hereDoc(`cat > "$tmp/${name}"`, lines.join('\n') + '\n');
}

/**
 * The restore script for `snapshot` (see the file comment). Staging uses temporary set names of
 * `run` (restoreRun() of the apply's). Exits non-zero, saying why on stderr, when it restored nothing.
 */
export function restoreScript(table: string, snapshot: IptablesSnapshot, run: string): string {
  const p = chainPrefix(table);
  const staged = stageSets(table, snapshot.sets.join('\n'), run);
  const lines = [
    'mode=${1:-restore}',
    'tmp=$(mktemp -d) || exit 1',
    "trap 'rm -rf \"$tmp\"' EXIT",
    `own_chains() { sed -n 's/^:\\(${p}\\|${p}_[A-Z0-9_]*\\) .*/\\1/p'; }`,
    `own_hooks() { sed -n 's/^-A FORWARD -j \\(${p}\\|${p}_[A-Z0-9_]*\\)$/\\1/p'; }`,
    // What staging made: the temporary sets, and the real-named ones that were not there before it.
    `unstage() { for s in ${[...staged.stagingSets, ...staged.sets].join(' ')}; do if ipset list -n "$s" >/dev/null 2>&1 && ! grep -qxF "$s" "$tmp/sets.before"; then ipset destroy "$s"; fi; done; }`,
    'fail() { echo "restore of the saved rules: $1; nothing was restored, the current rules stay" >&2; unstage; exit 1; }',
    fileOf('stage', [staged.stageIpset]),
    fileOf('swap', [staged.swapIpset]),
    fileOf('sets.keep', staged.sets),
    `ipset list -n > "$tmp/sets.before" || { echo 'restore of the saved rules: ipset list -n failed; nothing was restored' >&2; exit 1; }`,
    `ipset restore -exist < "$tmp/stage" || fail 'ipset restore of the saved sets failed'`,
  ];
  for (const family of ['v4', 'v6'] as const) {
    const { save, restore } = TOOLS[family];
    const declares = snapshot.chains[family].filter((l) => l.startsWith(':'));
    const rules = [...snapshot.chains[family].filter((l) => l.startsWith('-A ')), ...snapshot.hooks[family].map((h) => `-I FORWARD 1 -j ${h}`)];
    lines.push(
      fileOf(`${family}.declares`, declares),
      fileOf(`${family}.keep`, declares.map((l) => chainOfLine(l) ?? '')),
      fileOf(`${family}.rules`, rules),
      `cur=$(${save} -t filter) || fail '${save} -t filter failed'`,
      '{',
      "  echo '*filter'",
      `  { printf '%s\\n' "$cur" | own_chains | sed 's/.*/:& - [0:0]/'; grep . "$tmp/${family}.declares"; } | sort -u`,
      `  printf '%s\\n' "$cur" | own_hooks | sed 's/^/-D FORWARD -j /'`,
      `  grep . "$tmp/${family}.rules"`,
      `  printf '%s\\n' "$cur" | own_chains | grep -vxF -f "$tmp/${family}.keep" | sed 's/^/-X /'`,
      '  echo COMMIT',
      `} > "$tmp/${family}.restore"`,
      `${restore} -w --test --noflush < "$tmp/${family}.restore" || fail '${restore} --test rejected it'`,
    );
  }
  lines.push(
    'if [ "$mode" = check ]; then unstage; exit 0; fi',
    `ipset restore -exist < "$tmp/swap" || fail 'swapping the saved sets in failed'`,
    'rc=0',
    ...(['v4', 'v6'] as const).map((f) => `${TOOLS[f].restore} -w --noflush < "$tmp/${f}.restore" || { echo "restore of the saved rules: ${TOOLS[f].restore} failed" >&2; rc=1; }`),
    // Own sets the snapshot lacks, once no rule references them (the apply's staged sets among them).
    `sets=$(ipset list -n) || { echo 'restore of the saved rules: ipset list -n failed' >&2; exit 1; }`,
    `for s in $sets; do case "$s" in ${table}|${table}_*) grep -qxF "$s" "$tmp/sets.keep" || ipset destroy "$s" || rc=1;; esac; done`,
    'exit $rc',
  );
  return lines.join('\n') + '\n';
}
