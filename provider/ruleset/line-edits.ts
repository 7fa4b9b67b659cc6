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
