/**
 * The incremental apply of the iptables backend, pure: from the rules text the host's record says
 * was last applied (rulesText: `# ipset restore`, `# iptables-restore --noflush`, `# ip6tables-restore
 * --noflush` sections) and the new ruleset, the smallest change that turns the one into the other.
 *
 * Order on the host (iptables-apply.ts runs it so):
 *   1. `sets` (one `ipset restore`): `create` of new sets with their members, `add` / `del` of
 *      members of kept sets — before the chains, so every set a new rule names exists;
 *   2. per family, `v4` / `v6` (one `iptables-restore --noflush` each, one transaction): each new or
 *      changed chain declared (`:C - [0:0]` flushes an existing chain in noflush mode) and refilled;
 *      each removed chain declared (so flushed) and `-X`ed in the same transaction — its referrers
 *      were changed chains, refilled without the jump, and the commit checks references on the
 *      resulting table;
 *   3. `destroy` (one `ipset restore`): sets no rule names any more, once both families are in.
 * Chains whose rules did not change are not named at all: they keep their rules and counters. The
 * hash chain always changes (it holds the hash), so the host carries the new hash afterwards.
 *
 * What a delta cannot express safely is a full apply: texts that do not parse as the renderer's, a
 * different entry chain, or a kept set whose `create` line changed (type, family, maxelem).
 */
import type { IptablesRuleset } from '../../ruleset';
import type { Family } from './iptables-rollback';

export type IptablesDelta =
  | { kind: 'full'; reason: string }
  | {
      kind: 'incremental';
      /** `ipset restore` input run before the chains: creates, adds, dels. Empty when no set changes. */
      sets: string;
      /** Per family `iptables-restore --noflush` input: changed, new and removed chains only. */
      v4: string;
      v6: string;
      /** `ipset restore` input run after the chains: destroys. Empty when no set goes. */
      destroy: string;
      /** Chains named in each family's input (for messages and tests). */
      changedChains: Record<Family, string[]>;
      removedChains: Record<Family, string[]>;
    };

const SECTIONS = ['# ipset restore', '# iptables-restore --noflush', '# ip6tables-restore --noflush'] as const;

/** The three texts of a rulesText, or undefined when it is not one. */
export function splitRulesText(text: string): { ipset: string; v4: string; v6: string } | undefined {
  const lines = text.split('\n');
  const at = SECTIONS.map((s) => lines.indexOf(s));
  if (at[0] !== 0 || !(at[0] < at[1] && at[1] < at[2])) return undefined;
  const part = (i: number) => {
    const body = lines.slice(at[i] + 1, i < 2 ? at[i + 1] : lines.length).join('\n').trimEnd();
    return body === '' ? '' : `${body}\n`;
  };
  return { ipset: part(0), v4: part(1), v6: part(2) };
}

interface SetText {
  create: string;
  members: string[];
}

/** Per set its create line and members in order, or a reason it is not the renderer's input. */
function parseSets(text: string): Map<string, SetText> | string {
  const sets = new Map<string, SetText>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [verb, name, ...rest] = line.split(/\s+/);
    if (verb === 'create') {
      if (sets.has(name)) return `set ${name} is created twice`;
      sets.set(name, { create: line, members: [] });
    } else if (verb === 'add' && rest.length === 1) {
      const set = sets.get(name);
      if (!set) return `an add to ${name} comes before its create line`;
      set.members.push(rest[0]);
    } else if (verb !== 'flush') {
      return `the ipset line "${line.slice(0, 60)}" is not a create, flush or add`;
    }
  }
  return sets;
}

interface ChainsText {
  /** Chain names in the order the text declares them. */
  order: string[];
  rules: Map<string, string[]>;
}

function parseChains(text: string): ChainsText | string {
  const order: string[] = [];
  const rules = new Map<string, string[]>();
  let where: 'start' | 'filter' | 'end' = 'start';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (where === 'end') return 'a line follows COMMIT';
    if (where === 'start') {
      if (line !== '*filter') return 'the text does not start with *filter';
      where = 'filter';
      continue;
    }
    if (line === 'COMMIT') {
      where = 'end';
      continue;
    }
    const declare = /^:(\S+) - \[0:0\]$/.exec(line);
    if (declare) {
      if (rules.has(declare[1])) return `chain ${declare[1]} is declared twice`;
      order.push(declare[1]);
      rules.set(declare[1], []);
      continue;
    }
    const append = /^-A (\S+) /.exec(line);
    const chain = append ? rules.get(append[1]) : undefined;
    if (!chain) return `the line "${line.slice(0, 60)}" is not a rule of a declared chain`;
    chain.push(line);
  }
  return where === 'end' ? { order, rules } : 'the text does not end in COMMIT';
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The delta from the recorded rules text `previous` to `next`. Both passed the renderer's guard
 * when they were made; the caller guards the delta's texts again before sending them.
 */
export function iptablesDelta(previous: string, next: IptablesRuleset): IptablesDelta {
  const full = (reason: string): IptablesDelta => ({ kind: 'full', reason });
  const old = splitRulesText(previous);
  if (!old) return full('the recorded rules text is not an iptables rules text');
  const oldSets = parseSets(old.ipset);
  const newSets = parseSets(next.ipset);
  if (typeof oldSets === 'string') return full(`the recorded rules: ${oldSets}`);
  if (typeof newSets === 'string') return full(`the new rules: ${newSets}`);

  const sets: string[] = [];
  const destroy: string[] = [];
  for (const [name, set] of newSets) {
    const was = oldSets.get(name);
    if (!was) {
      sets.push(set.create, ...set.members.map((m) => `add ${name} ${m}`));
      continue;
    }
    if (was.create !== set.create) return full(`set ${name} changes its create line ("${was.create}" -> "${set.create}")`);
    const had = new Set(was.members);
    const has = new Set(set.members);
    for (const m of set.members) if (!had.has(m)) sets.push(`add ${name} ${m}`);
    for (const m of was.members) if (!has.has(m)) sets.push(`del ${name} ${m}`);
  }
  for (const name of oldSets.keys()) if (!newSets.has(name)) destroy.push(`destroy ${name}`);

  const texts: Record<Family, string> = { v4: '', v6: '' };
  const changedChains: Record<Family, string[]> = { v4: [], v6: [] };
  const removedChains: Record<Family, string[]> = { v4: [], v6: [] };
  for (const family of ['v4', 'v6'] as const) {
    const was = parseChains(old[family]);
    const is = parseChains(next[family]);
    if (typeof was === 'string') return full(`the recorded ${family} rules: ${was}`);
    if (typeof is === 'string') return full(`the new ${family} rules: ${is}`);
    if (was.order[0] !== next.entryChain || is.order[0] !== next.entryChain) return full(`the ${family} entry chain is not ${next.entryChain} in both texts`);
    const changed = is.order.filter((c) => !sameList(was.rules.get(c) ?? [''], is.rules.get(c) ?? []));
    const removed = was.order.filter((c) => !is.rules.has(c));
    changedChains[family] = changed;
    removedChains[family] = removed;
    texts[family] = [
      '*filter',
      ...[...changed, ...removed].map((c) => `:${c} - [0:0]`),
      ...changed.flatMap((c) => is.rules.get(c) ?? []),
      ...removed.map((c) => `-X ${c}`),
      'COMMIT',
      '',
    ].join('\n');
  }
  const text = (lines: string[]) => (lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return { kind: 'incremental', sets: text(sets), v4: texts.v4, v6: texts.v6, destroy: text(destroy), changedChains, removedChains };
}
