/** Line diff of two texts as hunks with context, like `diff -u` without the headers. */

export type DiffLine = { kind: " " | "-" | "+"; text: string };

/** Longest-common-subsequence edit script; linear memory is not needed at ruleset sizes. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  // Trim the common prefix and suffix first: most edits are small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const n = x.length;
  const m = y.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = x[i] === y[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1
        : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const out: DiffLine[] = a.slice(0, start).map((text) => ({ kind: " ", text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push({ kind: " ", text: x[i] }); i++; j++; }
    else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) { out.push({ kind: "-", text: x[i] }); i++; }
    else { out.push({ kind: "+", text: y[j] }); j++; }
  }
  for (const text of a.slice(endA)) out.push({ kind: " ", text });
  return out;
}

/**
 * The changed lines with `context` unchanged lines around each change; runs of hidden unchanged
 * lines are shown as one `...` line.
 */
export function hunks(lines: readonly DiffLine[], context = 2): string[] {
  const show = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.kind === " ") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) show[k] = true;
  });
  const out: string[] = [];
  let skipped = false;
  lines.forEach((l, i) => {
    if (!show[i]) { skipped = true; return; }
    if (skipped && out.length > 0) out.push("...");
    skipped = false;
    out.push(`${l.kind} ${l.text}`);
  });
  return out;
}

export function textDiff(before: string, after: string, context = 2): string[] {
  return hunks(diffLines(before.split("\n"), after.split("\n")), context);
}
