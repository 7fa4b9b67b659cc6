/**
 * A line diff (longest common subsequence) of two short texts, printed like `diff -u` without
 * headers: `- ` removed, `+ ` added, `  ` context. Used by `netpol plan` for cluster objects,
 * whose YAML is small (tens of lines), so the quadratic table is cheap.
 */

export interface DiffLine {
  op: "-" | "+" | " ";
  text: string;
}

/** Above this many lines on either side the diff falls back to "all removed, all added". */
const MAX_LINES = 2000;

export function diffLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  if (a.length > MAX_LINES || b.length > MAX_LINES) {
    return [...a.map((text) => ({ op: "-" as const, text })), ...b.map((text) => ({ op: "+" as const, text }))];
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { out.push({ op: " ", text: a[i] }); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: "-", text: a[i++] });
    else out.push({ op: "+", text: b[j++] });
  }
  while (i < a.length) out.push({ op: "-", text: a[i++] });
  while (j < b.length) out.push({ op: "+", text: b[j++] });
  return out;
}

/** The changed lines with `context` unchanged lines around each change; `…` marks skipped lines. */
export function formatDiff(lines: readonly DiffLine[], context = 2): string[] {
  const near = lines.map((_, k) => lines.slice(Math.max(0, k - context), k + context + 1).some((l) => l.op !== " "));
  const out: string[] = [];
  let skipped = false;
  lines.forEach((l, k) => {
    if (!near[k]) { skipped = true; return; }
    if (skipped) out.push("  …");
    skipped = false;
    out.push(`${l.op} ${l.text}`);
  });
  if (skipped && out.length > 0) out.push("  …");
  return out;
}

export function countChanges(lines: readonly DiffLine[]): { added: number; removed: number } {
  return { added: lines.filter((l) => l.op === "+").length, removed: lines.filter((l) => l.op === "-").length };
}

function splitLines(text: string): string[] {
  const trimmed = text.replace(/\n+$/, "");
  return trimmed === "" ? [] : trimmed.split("\n");
}
