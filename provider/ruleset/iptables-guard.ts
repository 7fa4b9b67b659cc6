/**
 * The allow-list the iptables texts pass before they are sent to a host: per family one
 * `*filter … COMMIT` block that only declares and appends to the project's own chains, with the
 * options the renderer writes; and `ipset restore` input that only creates, flushes and fills the
 * project's own sets. Anything else (another table, a built-in chain, a jump to another tool's
 * chain, a policy change, a line after COMMIT, a `destroy` or `swap`) is refused. A rule's
 * comment is user text as `commentText` writes it, in double quotes (comment.ts); the hash comment
 * is the one rule of the hash chain, which holds nothing else.
 *
 * An incremental apply's texts (iptables-delta.ts) pass the same checks with `delta` set, which
 * admits what it needs beyond that and nothing more: `-X` of an own chain other than the entry and
 * hash chains, and `del` / `destroy` of own sets.
 */
import { COMMENT_TEXT } from './comment';

/** The names that decide ownership, shared with index.ts (which holds the rules for them). */
export interface Ownership {
  isOwnChain(chain: string): boolean;
  isOwnSet(set: string): boolean;
  /** The chain that holds the hash comment, and only it. */
  hashChain: string;
}

export interface GuardOptions {
  /** The text is an incremental apply's (see the file comment). */
  delta?: boolean;
}

/** A plain option value: addresses, ports, port lists and ranges, states, ICMP type/code. */
const VALUE = /^[A-Za-z0-9_.:/,-]{1,200}$/;
const MODULES = new Set(['conntrack', 'set', 'multiport', 'icmp', 'icmp6', 'comment', 'tcp', 'udp', 'sctp', 'dccp', 'udplite']);
const VERDICTS = new Set(['ACCEPT', 'DROP', 'RETURN', 'LOG']);
const LOG_PREFIX = /^"[A-Za-z0-9 _.:-]{0,28}"$/;
const SET_FLAGS = /^(src|dst)(,(src|dst)){0,5}$/;

/** Options a rule may carry, and how their value is checked. */
const OPTIONS: Record<string, (value: string, own: Ownership) => string | undefined> = {
  '-s': plain,
  '-d': plain,
  '-p': plain,
  '-m': (v) => (MODULES.has(v) ? undefined : `module "${v}" is not one this project uses`),
  '--ctstate': plain,
  '--sports': plain,
  '--dports': plain,
  '--sport': plain,
  '--dport': plain,
  '--icmp-type': plain,
  '--icmpv6-type': plain,
  '--log-prefix': (v) => (LOG_PREFIX.test(v) ? undefined : 'a log prefix must be a short quoted word list'),
  '-j': (v, own) => (VERDICTS.has(v) || own.isOwnChain(v) ? undefined : `target "${v}" is neither a verdict nor an own chain`),
  '-g': (v, own) => (own.isOwnChain(v) ? undefined : `goto "${v}" is not an own chain`),
};

function plain(v: string): string | undefined {
  return VALUE.test(v) ? undefined : `value "${v}" holds characters an address, port or state never has`;
}

/** Words of a rule line; a double-quoted word (the log prefix, the hash comment) stays one word. */
function words(line: string): string[] | undefined {
  const word = /"[^"]*"|[^\s"]+/g;
  return line.replace(word, '').trim() === '' ? line.match(word) ?? [] : undefined;
}

/** Why one `-A` line is refused, or undefined. */
function ruleProblem(w: string[], hash: string, own: Ownership): string | undefined {
  let verdicts = 0;
  for (let i = 2; i < w.length; i++) {
    const option = w[i];
    if (option === '!') continue;
    if (option === '--match-set') {
      const [set, flags] = [w[i + 1] ?? '', w[i + 2] ?? ''];
      if (!own.isOwnSet(set)) return `set "${set}" is not an own set`;
      if (!SET_FLAGS.test(flags)) return `"${flags}" is not src or dst`;
      i += 2;
      continue;
    }
    if (option === '--comment') {
      const value = w[i + 1] ?? '';
      const quoted = /^"([^"]*)"$/.exec(value);
      const isHash = value === `"netpol:${hash}"`;
      if (isHash ? w[1] !== own.hashChain || w.length !== 6 : !(quoted && COMMENT_TEXT.test(quoted[1]))) {
        return `a comment is double-quoted text of the characters the renderer writes in comments; the hash netpol:${hash} is the one rule of ${own.hashChain}`;
      }
      i += 1;
      continue;
    }
    const check = OPTIONS[option];
    if (!check) return `option "${option}" is not one this project writes`;
    const value = w[i + 1];
    if (value === undefined) return `option "${option}" has no value`;
    const problem = check(value, own);
    if (problem) return problem;
    if (option === '-j' || option === '-g') verdicts++;
    i += 1;
  }
  return verdicts > 1 ? 'has more than one target' : undefined;
}

/** Throws a plain Error naming the first line of one family's text that is not allowed. */
export function validateRestoreText(family: 'v4' | 'v6', text: string, hash: string, own: Ownership, options: GuardOptions = {}): void {
  let where: 'start' | 'filter' | 'end' = 'start';
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    const fail = (why: string): never => {
      throw new Error(`${family} line ${n + 1}: "${line.slice(0, 80)}" ${why}`);
    };
    if (line === '' || line.startsWith('#')) continue;
    if (where === 'end') fail('follows COMMIT: nothing may follow the filter block');
    if (where === 'start') {
      if (line !== '*filter') fail('is not "*filter": only the filter table is written');
      where = 'filter';
      continue;
    }
    if (line === 'COMMIT') {
      where = 'end';
      continue;
    }
    const declare = /^:(\S+) - \[\d+:\d+\]$/.exec(line);
    if (declare) {
      if (!own.isOwnChain(declare[1])) fail('declares a chain that is not an own chain');
      continue;
    }
    const remove = /^-X (\S+)$/.exec(line);
    if (remove && options.delta) {
      if (!own.isOwnChain(remove[1]) || remove[1] === own.hashChain || remove[1] + '_HASH' === own.hashChain) fail('removes a chain that is not an own tier chain');
      continue;
    }
    const w = words(line);
    if (!w || w[0] !== '-A') fail('is not a declaration or an -A rule of an own chain');
    const rule = w as string[];
    if (!own.isOwnChain(rule[1] ?? '')) fail('appends to a chain that is not an own chain');
    if (rule[1] === own.hashChain && line !== `-A ${own.hashChain} -m comment --comment "netpol:${hash}"`) fail(`is not the one rule of the hash chain (-A ${own.hashChain} -m comment --comment "netpol:${hash}")`);
    const problem = ruleProblem(rule, hash, own);
    if (problem) fail(problem);
  }
  if (where !== 'end') throw new Error(`the ${family} text must be one "*filter" block ending in COMMIT`);
}

const SET_TYPES = new Set(['hash:ip', 'hash:net']);

/** Throws a plain Error naming the first line of the `ipset restore` input that is not allowed. */
export function validateIpsetText(text: string, own: Pick<Ownership, 'isOwnSet'>, options: GuardOptions = {}): void {
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (why: string): never => {
      throw new Error(`ipset line ${n + 1}: "${line.slice(0, 80)}" ${why}`);
    };
    const [verb, name, ...rest] = line.split(/\s+/);
    if (!own.isOwnSet(name ?? '')) fail('does not name an own set');
    switch (verb) {
      case 'create': {
        const [type, ...options] = rest;
        if (!SET_TYPES.has(type ?? '')) fail('creates a set of a type this project does not use');
        for (let i = 0; i < options.length; i++) {
          const o = options[i];
          if (o === '-exist') continue;
          if (o === 'family' && /^inet6?$/.test(options[i + 1] ?? '')) i++;
          else if ((o === 'maxelem' || o === 'hashsize') && /^\d{1,9}$/.test(options[i + 1] ?? '')) i++;
          else fail(`has the create option "${o}", which this project does not use`);
        }
        break;
      }
      case 'flush':
        if (rest.length > 0) fail('has words after the set name');
        break;
      case 'add':
        if (rest.length !== 1 || !/^[0-9a-fA-F.:/]{1,50}$/.test(rest[0])) fail('adds something that is not one address or prefix');
        break;
      case 'del':
        if (!options.delta) fail('uses "del": only create, flush and add lines are accepted');
        if (rest.length !== 1 || !/^[0-9a-fA-F.:/]{1,50}$/.test(rest[0])) fail('removes something that is not one address or prefix');
        break;
      case 'destroy':
        if (!options.delta) fail('uses "destroy": only create, flush and add lines are accepted');
        if (rest.length > 0) fail('has words after the set name');
        break;
      default:
        fail(`uses "${verb}": only create, flush and add lines are accepted${options.delta ? ', and del and destroy' : ''}`);
    }
  }
}
