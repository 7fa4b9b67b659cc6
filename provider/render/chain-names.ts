/**
 * Names for tier chains, by purpose rather than content (see host-program.ts), so a changed port
 * or action keeps every name. A chain is named after as little as tells it apart from the others:
 * its layer, tier name, end origin and the chain it goes to (a Calico profile: any rule of it may
 * change); where chains share that, also the sets their rules test (Rancher's per-stack chains: a
 * port rule in front of `within: stack` keeps the names); then their rules' origins; then the
 * matches that differ between them.
 */
import { shortHash } from "../ir/builder";
import { LayerName, Match, Rule, Tier } from "../ir";
import { ChainDraft, Purpose } from "./chains";

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `matchText(m)` is `JSON.stringify(m)`, which the caller keeps per match object. */
export function purposeOf(layer: LayerName, tier: Tier, matchText: (m: Match) => string): Purpose {
  const perRule = tier.rules.map(originAndSets);
  const sets = new Set<string>();
  for (const entry of perRule) for (let k = 1; k < entry.length; k++) sets.add(entry[k]);
  const allSets = [...sets].sort(byText);
  // `${head},${JSON.stringify(x)}]` is `JSON.stringify([layer, tier.name, tier.endOrigin, x])`.
  const head = JSON.stringify([layer, tier.name, tier.endOrigin]).slice(0, -1);
  return {
    tier: `${head}]`,
    coarse: `${head},${JSON.stringify(allSets)}]`,
    text: `${head},${JSON.stringify(perRule)}]`,
    matches: tier.rules.map((r) => matchText(r.match)),
  };
}

/** A rule's origin, then the set ids its match tests, source sets first. */
function originAndSets({ origin, match }: Rule): string[] {
  const out = [origin];
  if (match.src) for (const a of match.src) out.push(a.set);
  if (match.dst) for (const a of match.dst) out.push(a.set);
  return out;
}

/** The keys a chain may be named by, from the coarsest; the next one only where chains share one. */
const LEVELS: ReadonlyArray<(p: Purpose) => string> = [(p) => p.tier, (p) => p.coarse];

/**
 * Chain ids (12 hex) by signature; distinct signatures get distinct ids. Chains are named from the
 * end of the programs back, so a chain's key can hold the (settled) name of the chain it goes to.
 * At each level a chain's key is the smallest of its purposes' keys; a chain alone with its key is
 * named by it, the others go on to the next level. Past the last level they are named by their
 * purposes' full keys (with rule origins); several chains with one full key are told apart by the
 * rule matches that differ between them; any still sharing a key are sorted by signature and all
 * but the first get the signature appended. Every step depends only on the set of chains, never on
 * the order they were built in.
 */
export function nameChains(drafts: readonly ChainDraft[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const claim = (d: ChainDraft, key: string) => {
    let id = shortHash(key);
    // 48 bits make this loop a formality, but two contents must never share a name.
    for (let n = 1; taken.has(id); n++) id = shortHash(`${key}#${n}`);
    taken.add(id);
    names.set(d.sig, id);
  };
  const nextOf = (d: ChainDraft) => (d.nextSig === undefined ? null : names.get(d.nextSig) ?? null);
  const nameAt = (level: number, group: readonly ChainDraft[]): void => {
    const keyOf = LEVELS[level];
    if (keyOf === undefined) { nameByOrigins(group, nextOf, claim); return; }
    for (const [key, same] of groupBy(group, (d) => minOf([...d.purposes.values()].map((p) => JSON.stringify([keyOf(p), nextOf(d)]))))) {
      if (same.length === 1) claim(same[0], key);
      else nameAt(level + 1, same);
    }
  };
  const maxDepth = drafts.reduce((m, d) => Math.max(m, d.depth), -1);
  for (let depth = 0; depth <= maxDepth; depth++) nameAt(0, drafts.filter((d) => d.depth === depth));
  return names;
}

/** Names chains that share every level's key: by their full keys, then the matches that differ, then the signature. */
function nameByOrigins(group: readonly ChainDraft[], nextOf: (d: ChainDraft) => string | null, claim: (d: ChainDraft, key: string) => void): void {
  const withBest = group.map((draft) => {
    let best: { key: string; purpose: Purpose } | undefined;
    for (const purpose of draft.purposes.values()) {
      const key = JSON.stringify([purpose.text, nextOf(draft)]);
      if (!best || key < best.key || (key === best.key && JSON.stringify(purpose.matches) < JSON.stringify(best.purpose.matches))) best = { key, purpose };
    }
    if (!best) throw new Error(`internal: tier chain ${draft.sig} has no purpose`);
    return { draft, ...best };
  });
  for (const [key, same] of groupBy(withBest, (b) => b.key)) {
    if (same.length === 1) { claim(same[0].draft, key); continue; }
    // Same origins and sets (so the same rule count): the positions whose matches differ.
    const differ = same[0].purpose.matches.flatMap((m, i) => (same.some((g) => g.purpose.matches[i] !== m) ? [i] : []));
    const refined = groupBy(same, (g) => JSON.stringify([key, differ.map((i) => [i, g.purpose.matches[i]])]));
    for (const [k, drafts] of refined) {
      const [first, ...rest] = drafts.map((g) => g.draft).sort((a, b) => byText(a.sig, b.sig));
      claim(first, k);
      for (const d of rest) claim(d, JSON.stringify([k, d.sig]));
    }
  }
}

/** Groups by key, the groups sorted by key. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups].sort(([a], [b]) => byText(a, b));
}

function minOf(keys: string[]): string {
  if (keys.length === 0) throw new Error("internal: a tier chain has no purpose");
  return keys.reduce((a, b) => (b < a ? b : a));
}
