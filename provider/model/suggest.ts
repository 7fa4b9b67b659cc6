/** "Did you mean …?": the known word closest to a likely typo. */

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/**
 * Words people write for a policy action that the dialects spell otherwise (iptables' and cloud
 * firewalls' verbs). Used only when the target word is among the allowed values.
 */
const SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  accept: ["allow"], permit: ["allow"], allowed: ["allow"],
  drop: ["deny"], reject: ["deny"], block: ["deny"], denied: ["deny"],
  next: ["next-tier", "pass"], nexttier: ["next-tier"], next_tier: ["next-tier"],
};

const MAX_SUGGESTED_LENGTH = 100;

/** The closest known name, when it is close enough to be a likely typo (case is ignored). */
export function suggest(word: string, known: readonly string[]): string | undefined {
  // No name is this long: a huge value is no typo, and comparing it would cost seconds.
  if (word.length > MAX_SUGGESTED_LENGTH) return undefined;
  const lower = word.toLowerCase();
  const synonym = (SYNONYMS[lower] ?? []).find((s) => known.includes(s));
  if (synonym !== undefined) return synonym;
  // A field written short, like `inbound` for `inbound_rules`.
  const extended = lower.length >= 4 ? known.filter((k) => k.toLowerCase().startsWith(lower)) : [];
  if (extended.length === 1) return extended[0];
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestScore) { best = k; bestScore = d; }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)`, or "" when nothing is close. */
export function didYouMean(word: string, known: readonly string[]): string {
  const hint = suggest(word, known);
  return hint !== undefined && hint !== word ? ` (did you mean ${JSON.stringify(hint)}?)` : "";
}
