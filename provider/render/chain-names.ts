/**
 * Names for tier chains, by purpose rather than content (see host-program.ts): a hash of the
 * layer, tier name, end origin, the rules' origins and the sets they test, and the name of the
 * chain the tier goes to, so a changed port or action keeps every name.
 */
import { shortHash } from "../compile/builder";
import { LayerName, Match, Tier } from "../compile/ir";
import type { ChainRule, TierChain } from "./host-program";

/** A tier chain before it is named: `goto`s name the next chain by its signature. */
export interface ChainDraft {
  /** sha256 of the content (with the next chain's signature, so equal signatures are equal chains). */
  sig: string;
  rules: ChainRule[];
  tail: TierChain["tail"];
  /** The chain this one goes to, when it does (always the next tier's). */
  nextSig?: string;
  /** 0 for a chain that goes to no other, else one more than the chain it goes to. */
  depth: number;
  /** The tiers with this content, by their JSON: the chain is named after one of them. */
  purposes: Map<string, Purpose>;
}

/** What a tier is for, as far as it does not change when a rule's ports or action do. */
export interface Purpose {
  /** JSON of the layer, tier name, end origin, and per rule its origin and the set ids it tests. */
  text: string;
  /** JSON of each rule's match: what tells apart purposes with the same text. */
  matches: string[];
}

export function purposeOf(layer: LayerName, tier: Tier): Purpose {
  const sets = (m: Match) => [...(m.src ?? []), ...(m.dst ?? [])].map((a) => a.set);
  return {
    text: JSON.stringify([layer, tier.name, tier.endOrigin, tier.rules.map((r) => [r.origin, ...sets(r.match)])]),
    matches: tier.rules.map((r) => JSON.stringify(r.match)),
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Chain ids (12 hex) by signature; distinct signatures get distinct ids. Chains are named from the
 * end of the programs back, so a chain's key can hold the (settled) name of the chain it goes to.
 * A chain's key is the smallest of its purposes' keys. Several chains with one key are told apart
 * by the rule matches that differ between them; any still sharing a key are sorted by signature
 * and all but the first get the signature appended. Every step depends only on the set of chains,
 * never on the order they were built in.
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
  const maxDepth = drafts.reduce((m, d) => Math.max(m, d.depth), -1);
  for (let depth = 0; depth <= maxDepth; depth++) {
    const byKey = new Map<string, { draft: ChainDraft; purpose: Purpose }[]>();
    for (const draft of drafts) {
      if (draft.depth !== depth) continue;
      const next = draft.nextSig === undefined ? null : names.get(draft.nextSig) ?? null;
      let best: { key: string; purpose: Purpose } | undefined;
      for (const purpose of draft.purposes.values()) {
        const key = JSON.stringify([purpose.text, next]);
        if (!best || key < best.key || (key === best.key && JSON.stringify(purpose.matches) < JSON.stringify(best.purpose.matches))) best = { key, purpose };
      }
      if (!best) throw new Error(`internal: tier chain ${draft.sig} has no purpose`);
      const list = byKey.get(best.key) ?? [];
      list.push({ draft, purpose: best.purpose });
      byKey.set(best.key, list);
    }
    for (const key of [...byKey.keys()].sort(byText)) {
      const group = byKey.get(key) ?? [];
      if (group.length === 1) { claim(group[0].draft, key); continue; }
      // Same origins and sets (so the same rule count): the positions whose matches differ.
      const differ = group[0].purpose.matches.flatMap((m, i) => (group.some((g) => g.purpose.matches[i] !== m) ? [i] : []));
      const refined = new Map<string, ChainDraft[]>();
      for (const g of group) {
        const k = JSON.stringify([key, differ.map((i) => [i, g.purpose.matches[i]])]);
        refined.set(k, [...(refined.get(k) ?? []), g.draft]);
      }
      for (const k of [...refined.keys()].sort(byText)) {
        const [first, ...rest] = (refined.get(k) ?? []).sort((a, b) => byText(a.sig, b.sig));
        claim(first, k);
        for (const d of rest) claim(d, JSON.stringify([k, d.sig]));
      }
    }
  }
  return names;
}
