/**
 * The difference between two nftables tables the renderer wrote, as one nft transaction that turns
 * the first into the second while touching nothing that stays: unchanged sets keep their elements,
 * unchanged chains their rules (and so their handles and counters).
 *
 * Pure text to text. It reads only the renderer's fixed layout (render/nftables.ts: sets, verdict
 * maps, chains, one statement per line, every text already through the guard, nft-guard.ts) and
 * answers "full" for whatever it cannot express safely in place: a set's or map's type, flags or
 * comment changed, a chain's comment or hook changed, the base chain's rules changed, a block that
 * changed kind, a text it does not read. The caller then replaces the whole table as before.
 *
 * The transaction's order makes every reference exist before it is used and leave before what it
 * names is deleted: declare new sets, maps and chains; delete and add set elements; delete map
 * entries; write new and changed chains' rules (`flush chain` first); add map entries; empty, then
 * delete removed chains; delete removed maps and sets. A map entry whose verdict or comment
 * changed is deleted and added again (nft cannot change an element in place).
 */

type BlockKind = 'set' | 'map' | 'chain';

/** One set, map or chain of a rendered table. */
interface TableBlock {
  kind: BlockKind;
  name: string;
  /** The declaration lines: `type …`, `flags …`, `comment "…"` (a base chain's hook line too). */
  head: string[];
  /** Set or map elements (without the separating comma), in the rendered order. */
  elements: string[];
  /** A chain's rule lines, in order. */
  rules: string[];
}

interface RenderedTable {
  table: string;
  blocks: Map<string, TableBlock>;
}

export type NftDelta =
  | { kind: 'incremental'; text: string; /** Counts, for messages and tests. */ changes: DeltaCounts }
  | { kind: 'full'; reason: string };

export interface DeltaCounts {
  elementsAdded: number;
  elementsDeleted: number;
  blocksAdded: number;
  blocksDeleted: number;
  chainsRewritten: number;
}

/** The base chain: its rules hold the dispatch lookups; a change there is a full replace. */
const BASE_CHAIN = 'forward';
/** The chain whose one rule carries the hash (render/nftables.ts): rewritten by every delta. */
const VERSION_CHAIN = 'version';

/** The tables of `nft -f` text the renderer wrote, or a reason it is not one. */
export function parseRenderedTable(text: string): RenderedTable | string {
  const lines = text.split('\n');
  let table: string | undefined;
  const blocks = new Map<string, TableBlock>();
  let current: TableBlock | undefined;
  let inElements = false;
  let closed = false;
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || (line.startsWith('#') && !inElements)) continue;
    if (closed) return `line ${n + 1} follows the table`;
    if (table === undefined) {
      const head = /^table inet ([a-z][a-z0-9_]*) \{$/.exec(line);
      if (!head) return `line ${n + 1} is not a table head`;
      table = head[1];
      continue;
    }
    if (current === undefined) {
      if (line === '}') {
        closed = true;
        continue;
      }
      const open = /^(set|map|chain) ([a-z][a-z0-9_]*) \{$/.exec(line);
      if (!open) return `line ${n + 1} is not a set, map or chain`;
      if (blocks.has(open[2])) return `${open[2]} is declared twice`;
      current = { kind: open[1] as BlockKind, name: open[2], head: [], elements: [], rules: [] };
      blocks.set(current.name, current);
      continue;
    }
    if (inElements) {
      if (line === '}') inElements = false;
      else current.elements.push(line.replace(/,$/, ''));
      continue;
    }
    if (line === '}') {
      current = undefined;
      continue;
    }
    if (current.kind === 'chain') {
      if (/^(type |comment ")/.test(line)) current.head.push(line);
      else current.rules.push(line);
    } else if (line === 'elements = {') inElements = true;
    else current.head.push(line);
  }
  if (table === undefined || !closed) return 'the table block is not complete';
  return { table, blocks };
}

/** A map element's key (its address); a set element is its own key. */
const keyOf = (block: TableBlock, element: string) => (block.kind === 'map' ? element.split(' ')[0] : element);

/** Whether two line lists are equal, without joining them (most blocks of a delta are unchanged). */
function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function elementsByKey(block: TableBlock): Map<string, string> {
  return new Map(block.elements.map((e) => [keyOf(block, e), e]));
}

/** The difference, as one transaction, or why only a full replace will do. */
export function nftDelta(previous: string, next: string): NftDelta {
  const before = parseRenderedTable(previous);
  if (typeof before === 'string') return { kind: 'full', reason: `the previous rules are not the renderer's text (${before})` };
  const after = parseRenderedTable(next);
  if (typeof after === 'string') return { kind: 'full', reason: `the new rules are not the renderer's text (${after})` };
  if (before.table !== after.table) return { kind: 'full', reason: `the table changed from ${before.table} to ${after.table}` };
  const t = `inet ${after.table}`;

  const declare: string[] = [];
  const setElements: string[] = [];
  const mapDeletes: string[] = [];
  const rules: string[] = [];
  const mapAdds: string[] = [];
  const removeChains: string[] = [];
  const removeOthers: string[] = [];
  const counts: DeltaCounts = { elementsAdded: 0, elementsDeleted: 0, blocksAdded: 0, blocksDeleted: 0, chainsRewritten: 0 };
  const addElements = (into: string[], block: TableBlock, elements: string[]) => {
    if (elements.length === 0) return;
    counts.elementsAdded += elements.length;
    into.push(`add element ${t} ${block.name} { ${elements.join(', ')} }`);
  };
  const deleteElements = (into: string[], block: TableBlock, keys: string[]) => {
    if (keys.length === 0) return;
    counts.elementsDeleted += keys.length;
    into.push(`delete element ${t} ${block.name} { ${keys.join(', ')} }`);
  };
  const writeRules = (block: TableBlock) => {
    for (const rule of block.rules) rules.push(`add rule ${t} ${block.name} ${rule}`);
  };

  for (const [name, was] of before.blocks) {
    const now = after.blocks.get(name);
    if (now === undefined) {
      counts.blocksDeleted++;
      if (was.kind === 'chain') {
        if (name === BASE_CHAIN || name === VERSION_CHAIN) return { kind: 'full', reason: `the chain ${name} is gone` };
        removeChains.push(name);
      } else removeOthers.push(`delete ${was.kind} ${t} ${name}`);
      continue;
    }
    if (now.kind !== was.kind) return { kind: 'full', reason: `${name} changed from a ${was.kind} to a ${now.kind}` };
    if (!sameLines(now.head, was.head)) return { kind: 'full', reason: `the ${now.kind} ${name} changed its declaration (type, flags, hook or comment)` };
    if (now.kind === 'chain') {
      if (sameLines(now.rules, was.rules)) continue;
      if (name === BASE_CHAIN) return { kind: 'full', reason: `the base chain ${BASE_CHAIN} changed` };
      counts.chainsRewritten++;
      rules.push(`flush chain ${t} ${name}`);
      writeRules(now);
      continue;
    }
    if (sameLines(now.elements, was.elements)) continue;
    const old = elementsByKey(was);
    const fresh = elementsByKey(now);
    const gone = [...old.keys()].filter((k) => fresh.get(k) !== old.get(k));
    const added = [...fresh].filter(([k, e]) => old.get(k) !== e).map(([, e]) => e);
    if (now.kind === 'set') {
      // Deletes first: an interval set refuses a new range that overlaps one still there.
      deleteElements(setElements, now, gone);
      addElements(setElements, now, added);
    } else {
      deleteElements(mapDeletes, now, gone);
      addElements(mapAdds, now, added);
    }
  }

  for (const [name, now] of after.blocks) {
    if (before.blocks.has(name)) continue;
    counts.blocksAdded++;
    if (now.head.some((line) => line.startsWith('type ') && now.kind === 'chain')) return { kind: 'full', reason: `the base chain ${name} is new` };
    declare.push(now.head.length === 0 ? `add ${now.kind} ${t} ${name}` : `add ${now.kind} ${t} ${name} { ${now.head.join('; ')}; }`);
    if (now.kind === 'chain') writeRules(now);
    else addElements(now.kind === 'set' ? setElements : mapAdds, now, now.elements);
  }

  const text = [
    ...declare,
    ...setElements,
    ...mapDeletes,
    ...rules,
    ...mapAdds,
    // Emptied first, so that no removed chain still jumps to another one being deleted.
    ...removeChains.map((name) => `flush chain ${t} ${name}`),
    ...removeChains.map((name) => `delete chain ${t} ${name}`),
    ...removeOthers,
  ];
  return { kind: 'incremental', text: text.length === 0 ? '' : `${text.join('\n')}\n`, changes: counts };
}

/** The commands a delta may hold, each on the project's own table. */
const DELTA_LINE = /^(add (set|map|chain|element|rule)|delete (set|map|chain|element)|flush chain) inet ([a-z][a-z0-9_]*) [a-z][a-z0-9_]*( |$)/;

/**
 * Throws when a delta line is not one of the commands nftDelta writes on `table`. The pieces come
 * from texts that passed the table guard (nft-guard.ts); this keeps the assembled commands to
 * the project's own table and to one command per line.
 */
export function validateNftDelta(table: string, text: string): void {
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = DELTA_LINE.exec(line);
    if (!m || m[4] !== table) {
      throw new Error(`nft delta line ${n + 1}: "${line.slice(0, 80)}" is not a command on table inet ${table} that the delta writes`);
    }
  }
}
