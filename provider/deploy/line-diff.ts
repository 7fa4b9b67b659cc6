/**
 * The one line diff of the project: what a plan shows for a host's rules or a cluster object's
 * YAML, and what the engine harness shows for a multi-line input. An edit script keeps every
 * line of both texts in order (`-` removed, `+` added, ` ` unchanged).
 */

export interface DiffLine {
  op: "-" | "+" | " ";
  text: string;
}

/**
 * Above this many cells (lines × lines, after the common prefix and suffix are set aside) the
 * longest common subsequence table costs too much memory; the diff then pairs equal lines by
 * count instead (a line moved elsewhere shows as removed and added, like the table would).
 */
const MAX_TABLE_CELLS = 4_000_000;

/** The lines of a text; a trailing newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  const trimmed = text.replace(/\n+$/, "");
  return trimmed === "" ? [] : trimmed.split("\n");
}

/** The edit script from `before` to `after` (texts, or their lines). */
export function diffLines(before: string | readonly string[], after: string | readonly string[]): DiffLine[] {
  const a = typeof before === "string" ? splitLines(before) : before;
  const b = typeof after === "string" ? splitLines(after) : after;
  // Most edits are small: set the common prefix and suffix aside first.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const middle = (x.length + 1) * (y.length + 1) <= MAX_TABLE_CELLS ? lcsScript(x, y) : countedScript(x, y);
  return [
    ...a.slice(0, start).map((text) => ({ op: " " as const, text })),
    ...middle,
    ...a.slice(endA).map((text) => ({ op: " " as const, text })),
  ];
}

/** Longest common subsequence: the shortest edit script. */
function lcsScript(x: readonly string[], y: readonly string[]): DiffLine[] {
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push({ op: " ", text: x[i] }); i++; j++; }
    else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) out.push({ op: "-", text: x[i++] });
    else out.push({ op: "+", text: y[j++] });
  }
  return out;
}

/** For large texts: a line is unchanged as often as it occurs on both sides; removals first. */
function countedScript(x: readonly string[], y: readonly string[]): DiffLine[] {
  const left = new Map<string, number>();
  for (const l of y) left.set(l, (left.get(l) ?? 0) + 1);
  const kept = new Map<string, number>();
  const removed: DiffLine[] = [];
  for (const l of x) {
    const n = left.get(l) ?? 0;
    if (n > 0) { left.set(l, n - 1); kept.set(l, (kept.get(l) ?? 0) + 1); }
    else removed.push({ op: "-", text: l });
  }
  const rest: DiffLine[] = y.map((l) => {
    const n = kept.get(l) ?? 0;
    if (n > 0) { kept.set(l, n - 1); return { op: " " as const, text: l }; }
    return { op: "+" as const, text: l };
  });
  return [...removed, ...rest];
}

export interface FormatOptions {
  /** Unchanged lines shown around each change. @default 2 */
  context?: number;
  /** The line that stands for skipped unchanged lines. @default "  …" */
  gap?: string;
  /** Also mark unchanged lines skipped before the first and after the last change. @default true */
  edgeGaps?: boolean;
}

/** The changed lines with context, `-`/`+`/` ` before each, like `diff -u` without headers. */
export function formatDiff(lines: readonly DiffLine[], options: FormatOptions = {}): string[] {
  const context = options.context ?? 2;
  const gap = options.gap ?? "  …";
  const edges = options.edgeGaps ?? true;
  const show = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === " ") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) show[k] = true;
  });
  const out: string[] = [];
  let skipped = false;
  lines.forEach((l, i) => {
    if (!show[i]) { skipped = true; return; }
    if (skipped && (out.length > 0 || edges)) out.push(gap);
    skipped = false;
    out.push(`${l.op} ${l.text}`);
  });
  if (skipped && out.length > 0 && edges) out.push(gap);
  return out;
}

export function countChanges(lines: readonly DiffLine[]): { added: number; removed: number } {
  return { added: lines.filter((l) => l.op === "+").length, removed: lines.filter((l) => l.op === "-").length };
}
