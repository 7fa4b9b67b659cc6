/**
 * Source NAT on the host: Docker's default bridge masquerades what its containers send anywhere
 * but the bridge (`-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`), so another host
 * sees the sending host's address, and a rule there for a container's address never matches.
 * Every read of a host's state therefore also lists the host's POSTROUTING source-NAT rules, in
 * the same command; the deploy layer matches them against the endpoints' addresses (it knows the
 * model, this layer does not). Nothing on the host is changed.
 *
 * The rules are read with the host's own `iptables` / `ip6tables` (what Docker writes with, legacy
 * or nf_tables alike), or, on a host without iptables, from nft's `ip nat` / `ip6 nat` tables.
 * Only POSTROUTING itself is read: a jump from it to another chain is not followed.
 */
import { reportSection } from './report-section';

/** One MASQUERADE or SNAT rule of the host's POSTROUTING chain. */
export interface NatRule {
  family: 4 | 6;
  /** The rule as the host lists it (`-A POSTROUTING …` or an nft rule line), for messages. */
  text: string;
  /** How it was listed, for messages: `iptables -t nat`, `ip6tables -t nat`, `nft ip nat`, `nft ip6 nat`. */
  listedBy: string;
  /** The source match (a CIDR or address as listed), when there is one. */
  source?: { cidr: string; negated: boolean };
  destination?: { cidr: string; negated: boolean };
}

const BEGIN = '@@netpol-nat';
const END = '@@netpol-nat-end';

/**
 * Constant shell lines that print the rules, one per line with a tag in front (stdout only; no
 * exit status of their own matters: the caller's last command decides). iptables-legacy would
 * create an empty nat table by listing it, so a legacy host's nat table is listed only when the
 * kernel already has one; iptables-nft lists a missing table as empty without creating it.
 * A legacy host's listing waits at most 3 s for the xtables lock (as forward-check.ts): a host whose
 * lock is held longer gets no report this time, and the read itself goes on.
 */
export const NAT_REPORT_SCRIPT = [
  `echo ${BEGIN}`,
  'if command -v iptables >/dev/null 2>&1; then',
  '  case "$(iptables -V 2>/dev/null)" in',
  '    *legacy*) grep -qx nat /proc/net/ip_tables_names 2>/dev/null && t4=1; grep -qx nat /proc/net/ip6_tables_names 2>/dev/null && t6=1 ;;',
  '    *) t4=1; t6=1 ;;',
  '  esac',
  '  if [ -n "$t4" ]; then iptables -w 3 -t nat -S POSTROUTING 2>/dev/null | sed "s/^/ipt4 /"; fi',
  '  if [ -n "$t6" ] && command -v ip6tables >/dev/null 2>&1; then ip6tables -w 3 -t nat -S POSTROUTING 2>/dev/null | sed "s/^/ipt6 /"; fi',
  'elif command -v nft >/dev/null 2>&1; then',
  '  nft list chain ip nat POSTROUTING 2>/dev/null | sed "s/^/nft4 /"',
  '  nft list chain ip6 nat POSTROUTING 2>/dev/null | sed "s/^/nft6 /"',
  'fi',
  `echo ${END}`,
].join('\n');

const LISTED_BY = { ipt4: 'iptables -t nat', ipt6: 'ip6tables -t nat', nft4: 'nft ip nat', nft6: 'nft ip6 nat' } as const;
type Tag = keyof typeof LISTED_BY;

/** An `iptables -S` line as a NatRule, when it is a MASQUERADE or SNAT rule of POSTROUTING. */
export function parseIptablesNatLine(family: 4 | 6, listedBy: string, line: string): NatRule | undefined {
  const words = line.trim().split(/\s+/);
  if (words[0] !== '-A' || words[1] !== 'POSTROUTING') return undefined;
  const target = words[words.indexOf('-j') + 1];
  if (!words.includes('-j') || (target !== 'MASQUERADE' && target !== 'SNAT')) return undefined;
  // Docker's hairpin rule (`-o docker0 -m addrtype --src-type LOCAL`): the host's own addresses, never an endpoint's.
  if (words.some((w, i) => w === '--src-type' && words[i + 1] === 'LOCAL')) return undefined;
  const match = (flags: string[]): NatRule['source'] => {
    const at = words.findIndex((w) => flags.includes(w));
    return at < 0 || words[at + 1] === undefined ? undefined : { cidr: words[at + 1], negated: words[at - 1] === '!' };
  };
  const source = match(['-s', '--source']);
  const destination = match(['-d', '--destination']);
  return { family, text: line.trim(), listedBy, ...(source ? { source } : {}), ...(destination ? { destination } : {}) };
}

/** An nft rule line as a NatRule, when it masquerades or SNATs. A set as the address (`{ … }`) is left out. */
export function parseNftNatLine(family: 4 | 6, listedBy: string, line: string): NatRule | undefined {
  const text = line.trim();
  if (!/(^|\s)(masquerade|snat)(\s|$)/.test(text) || /fib saddr type local/.test(text)) return undefined;
  const ip = family === 4 ? 'ip' : 'ip6';
  const match = (field: 'saddr' | 'daddr'): NatRule['source'] | 'set' => {
    const m = new RegExp(`(?:^|\\s)${ip} ${field} (!= )?(\\S+)`).exec(text);
    if (!m) return undefined;
    return m[2].startsWith('{') || m[2].startsWith('@') ? 'set' : { cidr: m[2], negated: m[1] !== undefined };
  };
  const source = match('saddr');
  const destination = match('daddr');
  if (source === 'set' || destination === 'set') return undefined;
  return { family, text, listedBy, ...(source ? { source } : {}), ...(destination ? { destination } : {}) };
}

/**
 * Splits the output of a command that contains NAT_REPORT_SCRIPT into the rules and the rest.
 * A missing report is a HostError; lines of the report that are no NAT rule are skipped.
 */
export function splitNatReport(stdout: string, host: string, step: string): { nat: NatRule[]; rest: string } {
  const { lines, rest } = reportSection(stdout, { begin: BEGIN, end: END }, { host, step, check: 'NAT check', hint: 'The check lists the POSTROUTING chain of the nat table; look at what the host printed there' });
  const nat: NatRule[] = [];
  for (const line of lines) {
    const m = /^(ipt4|ipt6|nft4|nft6) (.*)$/.exec(line);
    if (!m) continue;
    const tag = m[1] as Tag;
    const family = tag.endsWith('4') ? 4 : 6;
    const rule = tag.startsWith('ipt') ? parseIptablesNatLine(family, LISTED_BY[tag], m[2]) : parseNftNatLine(family, LISTED_BY[tag], m[2]);
    if (rule) nat.push(rule);
  }
  return { nat, rest };
}
