/**
 * Compares two nftables texts statement by statement, whatever their layout: the project's own
 * rendering and a host's `nft list table` output list the same statements in different shapes
 * (set elements on one line or many). Used by `netpol plan` to count lines added and removed.
 */

/** The statements of a table text, each prefixed by the set / map / chain it sits in. */
export function statements(text: string): string[] {
  const out: string[] = [];
  let block = "table";
  let elements: string[] | undefined;
  const flushElements = (chunk: string) => {
    // An element's comment (the endpoints it belongs to) may hold commas: it goes first.
    for (const e of chunk.replace(/ comment "[^"]*"/g, "").split(",").map((s) => s.trim()).filter((s) => s !== "")) out.push(`${block}: element ${e}`);
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("comment ")) continue;
    if (elements) {
      const end = line.indexOf("}");
      flushElements(end >= 0 ? line.slice(0, end) : line);
      if (end >= 0) elements = undefined;
      continue;
    }
    const open = /^(set|map|chain) (\S+) \{$/.exec(line);
    if (open) { block = `${open[1]} ${open[2]}`; continue; }
    if (/^table /.test(line)) continue;
    // The version chain's one rule is the hash: it changes with every change, like a comment.
    if (block === "chain version" && line !== "}") continue;
    if (line === "}") { block = "table"; continue; }
    const el = /^elements = \{(.*)$/.exec(line);
    if (el) {
      const end = el[1].indexOf("}");
      flushElements(end >= 0 ? el[1].slice(0, end) : el[1]);
      if (end < 0) elements = [];
      continue;
    }
    out.push(`${block}: ${line.replace(/\s+/g, " ").replace(/;$/, "")}`);
  }
  return out.sort();
}

export interface StatementDiff {
  added: string[];
  removed: string[];
}

export function diffStatements(before: string, after: string): StatementDiff {
  const count = new Map<string, number>();
  for (const s of statements(before)) count.set(s, (count.get(s) ?? 0) + 1);
  const added: string[] = [];
  for (const s of statements(after)) {
    const n = count.get(s) ?? 0;
    if (n > 0) count.set(s, n - 1);
    else added.push(s);
  }
  const removed = [...count].flatMap(([s, n]) => Array<string>(n).fill(s));
  return { added, removed: removed.sort() };
}
