/**
 * Bridged endpoints: the project's rules sit on the IP forward hook, but traffic between two
 * endpoints on the same Linux bridge (Docker's docker0, Rancher's bridge) is bridged, not routed.
 * It reaches that hook only when br_netfilter is active and `net.bridge.bridge-nf-call-iptables`
 * (IPv4) / `…-ip6tables` (IPv6) are 1. Where they are not, the rules are silently bypassed for
 * those pairs. Every read of a host's state therefore also reports its bridges with ports and
 * those two values, in the same command, and turns them into warnings. Nothing on the host is
 * changed: the project only touches its own table, chains and sets.
 */
import { HostError } from './host-error';

export type NfCallValue = '0' | '1' | 'absent' | 'unreadable';

/** What one host says about its bridges. */
export interface BridgeReport {
  /** Bridges with at least one port, sorted. */
  bridges: string[];
  /** `/proc/sys/net/bridge/bridge-nf-call-iptables`; absent when br_netfilter is not loaded. */
  iptables: NfCallValue;
  /** `/proc/sys/net/bridge/bridge-nf-call-ip6tables`. */
  ip6tables: NfCallValue;
}

const BEGIN = '@@netpol-bridges';
const END = '@@netpol-bridges-end';

/**
 * Constant shell lines that print the report (stdout only; nothing on stderr, exit status 0).
 * Callers put them in front of their own read command, so one command reads both.
 */
export const BRIDGE_REPORT_SCRIPT = [
  `echo ${BEGIN}`,
  'for d in /sys/class/net/*/brif; do',
  '  [ -d "$d" ] || continue',
  '  if [ -n "$(ls -A "$d" 2>/dev/null)" ]; then b=${d%/brif}; echo "bridge ${b##*/}"; fi',
  'done',
  'for f in iptables ip6tables; do',
  '  p=/proc/sys/net/bridge/bridge-nf-call-$f',
  // cat, not the read builtin: sysctl files answer only the first read() (dash reads byte by byte).
  '  if [ -e "$p" ]; then v=$(cat "$p" 2>/dev/null) || v=unreadable; else v=absent; fi',
  '  echo "nf-call-$f $v"',
  'done',
  `echo ${END}`,
].join('\n');

/**
 * Splits the output of a command that began with BRIDGE_REPORT_SCRIPT into the report and the
 * rest (what the read command itself printed). Lines before the report (a login shell's banner)
 * are skipped; anything unexpected inside it throws a HostError.
 */
export function splitBridgeReport(stdout: string, host: string, step: string): { report: BridgeReport; rest: string } {
  const bad = (what: string): HostError =>
    new HostError({ host, step, cause: `unexpected output of the bridge check: ${what}`, hint: "The check lists /sys/class/net/*/brif and reads /proc/sys/net/bridge/bridge-nf-call-*; look at what the host printed there" });
  const lines = stdout.split('\n');
  // What a login shell prints before any command ran (a banner from .bashrc) is not ours to judge.
  const begin = lines.indexOf(BEGIN);
  if (begin === -1) throw bad(`no "${BEGIN}" line`);
  const end = lines.indexOf(END, begin);
  if (end === -1) throw bad(`no "${END}" line`);
  const bridges: string[] = [];
  const values: Partial<Record<'iptables' | 'ip6tables', NfCallValue>> = {};
  for (const line of lines.slice(begin + 1, end)) {
    const bridge = /^bridge (\S{1,15})$/.exec(line);
    // The kernel stores any non-zero write as 1, so 0 and 1 are the only numbers it prints.
    const sysctl = /^nf-call-(iptables|ip6tables) (0|1|absent|unreadable)$/.exec(line);
    if (bridge) {
      bridges.push(bridge[1]);
    } else if (sysctl && values[sysctl[1] as 'iptables' | 'ip6tables'] === undefined) {
      values[sysctl[1] as 'iptables' | 'ip6tables'] = sysctl[2] as NfCallValue;
    } else {
      throw bad(`"${printable(line)}"`);
    }
  }
  if (values.iptables === undefined || values.ip6tables === undefined) throw bad('a bridge-nf-call value is missing');
  return { report: { bridges: [...new Set(bridges)].sort(), iptables: values.iptables, ip6tables: values.ip6tables }, rest: lines.slice(end + 1).join('\n') };
}

/** Interface names are bytes from the host: show anything outside printable ASCII escaped. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`).slice(0, 80);
}

const SYSCTL = { iptables: 'net.bridge.bridge-nf-call-iptables', ip6tables: 'net.bridge.bridge-nf-call-ip6tables' } as const;
const FIX = 'or route the endpoints instead of bridging them.';
const BYPASS = 'traffic between endpoints on that bridge bypasses the rules.';

/**
 * The warnings for one host, each starting with the host's name: none when no bridge has ports;
 * one when br_netfilter is not loaded; otherwise one per family whose sysctl is not 1. Both
 * families are always checked, whatever addresses the model gives.
 */
export function bridgeWarnings(host: string, report: BridgeReport): string[] {
  if (report.bridges.length === 0) return [];
  const names = report.bridges.map(printable);
  const which = names.length === 1 ? `bridge ${names[0]} has ports` : `bridges ${names.join(', ')} have ports`;
  const bypass = names.length === 1 ? BYPASS : BYPASS.replace('that bridge', 'those bridges');
  if (report.iptables === 'absent' && report.ip6tables === 'absent') {
    return [
      `${host}: ${which}, but br_netfilter is not loaded (no /proc/sys/net/bridge): ${bypass} ` +
        `Load br_netfilter and set ${SYSCTL.iptables} and ${SYSCTL.ip6tables} to 1 (as Docker does), ${FIX}`,
    ];
  }
  const warnings: string[] = [];
  for (const family of ['iptables', 'ip6tables'] as const) {
    const value = report[family];
    if (value === '1') continue;
    const state = value === 'absent' ? 'missing' : value === 'unreadable' ? 'unreadable (so it may be off)' : value;
    warnings.push(`${host}: ${which}, but ${SYSCTL[family]} is ${state}: ${bypass} Set it to 1 (as Docker does), ${FIX}`);
  }
  return warnings;
}

/** `{ warnings }` when there are any, else nothing: results keep their old shape on plain hosts. */
export function warningsField(host: string, report: BridgeReport): { warnings?: string[] } {
  const warnings = bridgeWarnings(host, report);
  return warnings.length > 0 ? { warnings } : {};
}
