/**
 * The allow-list the nftables text passes before it is sent to a host: exactly one
 * `table inet <ours> { … }` block, holding only the statement shapes the renderer writes (sets,
 * verdict maps, chains of plain rules, the comments of sets, maps, chains and elements, and the
 * `version` chain whose one rule carries the hash), and nothing after its closing brace. A comment holds user text: only what
 * `commentText` produces is accepted between its quotes (comment.ts).
 *
 * Why line by line: the renderer puts every statement on its own line, so a line that is not one
 * of the known shapes is a renderer bug or an injection. A denylist would miss the next trick
 * (`}; flush ruleset`, a second table, an `include`); this accepts only what it recognises.
 */

import { COMMENT_TEXT } from './comment';

/** Set, map and chain names the renderer writes (nft allows more; we accept only these). */
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** `type filter hook forward priority filter; policy accept;` and the other base-chain spellings. */
const BASE_CHAIN = /^type filter hook (forward|input|output|prerouting|postrouting) priority (filter|-?\d{1,4}); policy (accept|drop);$/;
const SET_TYPE = /^type (ipv4_addr|ipv6_addr)$/;
const MAP_TYPE = /^type (ipv4_addr|ipv6_addr) : verdict$/;
/** An address, prefix or range, with a map's verdict, and the comma between elements. */
const ELEMENT = /^[0-9a-fA-F.:/-]{1,64}( : (drop|accept|return|(jump|goto) [a-z][a-z0-9_]{0,62}))?,?$/;
/** Characters a rule line may hold: names, addresses, operators, anonymous sets, the log prefix. */
const RULE_CHARS = /^[A-Za-z0-9_.:/@!=,{}&|()<> "-]+$/;
/** Words that change or reach beyond the table when they appear in a rule line. */
const FORBIDDEN_WORDS = new Set(['table', 'ruleset', 'flush', 'delete', 'add', 'insert', 'replace', 'create', 'destroy', 'reset', 'list', 'include', 'define', 'rename', 'monitor', 'export', 'import']);
/** The only quoted text in a rule: `log prefix "netpol <layer> "`. */
const LOG_PREFIX = /log prefix "[A-Za-z0-9 _.:-]{0,60}"/g;

/** `comment "…"`: a set's, map's or chain's own line, or after an element's key. */
const COMMENT = /^comment "([^"]*)"$/;
const ELEMENT_COMMENT = / comment "([^"]*)"(?= :|,?$)/;

type Where = 'start' | 'table' | 'set' | 'map' | 'elements' | 'chain' | 'version' | 'end';

/** The chain that carries the hash (render/nftables.ts): its comment and exactly `return comment "netpol:<hash>"`. */
const VERSION_CHAIN = 'version';

/** Throws a plain Error naming the first line that is not an allowed statement of `table inet <table>`. */
export function validateNftText(table: string, hash: string, text: string): void {
  const lines = text.split('\n');
  let where: Where = 'start';
  let elementsOf: 'set' | 'map' = 'set';
  let hashRules = 0;
  let versionChains = 0;
  const fail = (n: number, why: string): never => {
    throw new Error(`nft text line ${n + 1}: "${lines[n].trim().slice(0, 80)}" ${why}`);
  };
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (where === 'end') {
      if (line !== '') fail(n, `follows the end of table inet ${table}: nothing may follow the table block`);
      continue;
    }
    if (where === 'start') {
      if (line === '') continue;
      if (line !== `table inet ${table} {`) fail(n, `is not "table inet ${table} {": the text must be one block for the project's own table`);
      where = 'table';
      continue;
    }
    if (line === '' || (line.startsWith('#') && where !== 'elements')) continue;
    const comment = COMMENT.exec(line);
    if (comment && (where === 'set' || where === 'map' || where === 'chain' || where === 'version')) {
      if (!COMMENT_TEXT.test(comment[1])) fail(n, 'is a comment with characters the renderer never writes in one');
      continue;
    }
    switch (where) {
      case 'table': {
        const block = /^(set|map|chain) (\S+) \{$/.exec(line);
        if (line === '}') where = 'end';
        else if (block && block[1] === 'chain' && block[2] === VERSION_CHAIN) {
          versionChains++;
          where = 'version';
        } else if (block && NAME.test(block[2])) where = block[1] as 'set' | 'map' | 'chain';
        else fail(n, `is not a comment, set, map or chain of table inet ${table}`);
        break;
      }
      case 'set':
      case 'map':
        if (line === '}') where = 'table';
        else if (line === 'elements = {') {
          elementsOf = where;
          where = 'elements';
        } else if (!(where === 'set' ? SET_TYPE.test(line) || line === 'flags interval' : MAP_TYPE.test(line))) fail(n, `is not a line of a ${where} declaration`);
        break;
      case 'elements': {
        if (line === '}') {
          where = elementsOf;
          break;
        }
        const note = ELEMENT_COMMENT.exec(line);
        if (note && !COMMENT_TEXT.test(note[1])) fail(n, 'is an element whose comment has characters the renderer never writes in one');
        if (!ELEMENT.test(note ? line.replace(note[0], '') : line)) fail(n, 'is not a set or map element');
        break;
      }
      case 'version':
        if (line === '}') where = 'table';
        else if (line === `return comment "netpol:${hash}"`) hashRules++;
        else fail(n, `is not a line of the ${VERSION_CHAIN} chain, which holds its comment and the rule return comment "netpol:${hash}"`);
        break;
      case 'chain':
        if (line === '}') where = 'table';
        else if (!BASE_CHAIN.test(line)) {
          const problem = ruleProblem(line);
          if (problem) fail(n, problem);
        }
        break;
      default: {
        const never: never = where;
        throw new Error(`unknown state ${String(never)}`);
      }
    }
  }
  if (where === 'start') throw new Error(`the nft text has no "table inet ${table}" block`);
  if (where !== 'end') throw new Error(`the nft text ends inside table inet ${table}: a block is not closed`);
  if (versionChains !== 1 || hashRules !== 1) {
    throw new Error(`the table block must carry the chain ${VERSION_CHAIN} exactly once (found ${versionChains}) with the rule return comment "netpol:${hash}" exactly once (found ${hashRules})`);
  }
}

/** Why a chain's rule line is refused, or undefined when it is one of the shapes rules have. */
function ruleProblem(line: string): string | undefined {
  const unquoted = line.replace(LOG_PREFIX, 'log prefix P');
  if (!RULE_CHARS.test(unquoted) || unquoted.includes('"')) return 'holds characters a rule of this project never has (only names, addresses, operators, { } sets and a log prefix)';
  let depth = 0;
  for (const c of unquoted) {
    depth += c === '{' ? 1 : c === '}' ? -1 : 0;
    if (depth < 0 || depth > 1) return 'closes a block or nests sets: a rule line must keep its braces to one anonymous set';
  }
  if (depth !== 0) return 'opens a brace it does not close';
  // Whole words only: set and chain names are hex digests that may spell "add".
  const word = unquoted.split(/[^A-Za-z0-9_@]+/).find((w) => FORBIDDEN_WORDS.has(w));
  if (word) return `uses "${word}", which a rule of this project never does`;
  const target = /\b(?:jump|goto) (\S+)/.exec(unquoted);
  if (target && !NAME.test(target[1])) return `jumps to "${target[1]}", which is not a chain name of this table`;
  return undefined;
}
