/**
 * The lines that change between two texts, as a short edit script a host applies to its copy of
 * the first (host-record.ts: the record's rules text, rewritten after an incremental apply without
 * sending the whole new text).
 *
 * The script has one operation per line: `=N` copies the next N lines of the old text, `-N` skips
 * them, `+N` inserts the N lines that follow it verbatim (whatever they hold). The edits are the
 * shortest (Myers' O(ND) difference); past `maxChanged` changed lines there is no script, and the
 * caller sends the whole text.
 */

/** Lines of the old text kept, old lines dropped, new lines added: in order. */
export type LineEdit = { keep: number } | { drop: number } | { add: string[] };

/** The edits from `a` to `b`, or undefined when more than `maxChanged` lines are dropped or added. */
export function lineEdits(a: readonly string[], b: readonly string[], maxChanged: number): LineEdit[] | undefined {
  // Strings compared as they are: interning them first (a Map of every line) costs more than the
  // comparisons of a small difference do.
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxChanged);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  /** `v` as it was at the start of each round d: the furthest x reached on each diagonal k = x - y. */
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m, b);
    }
  }
  return undefined;
}

/** Walks the rounds back from the end, then writes the path forward as runs. */
function backtrack(trace: readonly Int32Array[], n: number, m: number, b: readonly string[]): LineEdit[] {
  const steps: ("=" | "-" | "+")[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    // trace[d] holds diagonals -d-1 … d+1.
    const at = (k: number) => trace[d][k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) { steps.push("="); x--; y--; }
    if (d > 0) steps.push(x === prevX ? "+" : "-");
    x = prevX;
    y = prevY;
  }
  steps.reverse();
  const edits: LineEdit[] = [];
  let j = 0;
  for (const s of steps) {
    const last = edits[edits.length - 1];
    if (s === "=") {
      if (last && "keep" in last) last.keep++;
      else edits.push({ keep: 1 });
      j++;
    } else if (s === "-") {
      if (last && "drop" in last) last.drop++;
      else edits.push({ drop: 1 });
    } else {
      if (last && "add" in last) last.add.push(b[j]);
      else edits.push({ add: [b[j]] });
      j++;
    }
  }
  return edits;
}

/** The edit script as the host reads it (see above), one operation per line, ending in a newline. */
export function editScript(edits: readonly LineEdit[]): string {
  return edits.map((e) => ("keep" in e ? `=${e.keep}\n` : "drop" in e ? `-${e.drop}\n` : `+${e.add.length}\n${e.add.map((l) => `${l}\n`).join("")}`)).join("");
}

/** Applies edits to `a` (what the host does; for tests and as the definition of the script). */
export function applyLineEdits(a: readonly string[], edits: readonly LineEdit[]): string[] {
  const out: string[] = [];
  let i = 0;
  for (const e of edits) {
    if ("keep" in e) for (const end = i + e.keep; i < end; i++) out.push(a[i]);
    else if ("drop" in e) i += e.drop;
    else for (const line of e.add) out.push(line);
  }
  if (i !== a.length) throw new Error(`the edits cover ${i} of ${a.length} lines`);
  return out;
}

const DIFF_HUNK = /^(\d+)(?:,(\d+))?([acd])(\d+)(?:,(\d+))?$/;

/**
 * The edits that `diff OLD NEW` prints in its normal format (`5a6,7`, `3,4c3`, `8d7`, each
 * followed by its `< ` and `> ` lines, `---` between), against `old`, its old text; undefined when
 * the text is not that format, does not fit `old`'s length, or names an old line that `same` finds
 * unlike the caller's (the host's copy was not the one the caller has).
 */
export function normalDiffEdits(diff: string, old: readonly string[], same: (mine: string, theirs: string) => boolean): LineEdit[] | undefined {
  const lines = diff.split("\n");
  if (lines.pop() !== "") return undefined; // every line ends in a newline
  const edits: LineEdit[] = [];
  let i = 0; // old lines consumed
  let j = 0; // new lines made
  let at = 0;
  const side = (mark: "< " | "> ", count: number): string[] | undefined => {
    const taken: string[] = [];
    for (; taken.length < count; at++) {
      const line = lines[at];
      if (line === undefined || !line.startsWith(mark)) return undefined;
      taken.push(line.slice(2));
    }
    return taken;
  };
  while (at < lines.length) {
    const hunk = DIFF_HUNK.exec(lines[at++]);
    if (!hunk) return undefined;
    const [a1, a2, kind, b1, b2] = [Number(hunk[1]), Number(hunk[2] ?? hunk[1]), hunk[3], Number(hunk[4]), Number(hunk[5] ?? hunk[4])];
    // An insertion names the old line it follows; a change or deletion the old lines it replaces.
    const keep = kind === "a" ? a1 - i : a1 - 1 - i;
    if (keep < 0 || a2 < a1 || b2 < b1 || a2 > old.length) return undefined;
    if (keep > 0) edits.push({ keep });
    i += keep;
    j += keep;
    if (kind !== "a") {
      const dropped = side("< ", a2 - a1 + 1);
      if (!dropped || dropped.some((line, k) => !same(old[i + k], line))) return undefined;
      edits.push({ drop: dropped.length });
      i += dropped.length;
      if (kind === "c" && lines[at++] !== "---") return undefined;
    }
    if (kind === "d") {
      if (b1 !== j) return undefined;
      continue;
    }
    if (b1 !== j + 1) return undefined;
    const added = side("> ", b2 - b1 + 1);
    if (!added) return undefined;
    edits.push({ add: added });
    j += added.length;
  }
  if (i < old.length) edits.push({ keep: old.length - i });
  return edits;
}
