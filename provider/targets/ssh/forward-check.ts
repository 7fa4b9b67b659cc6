/**
 * Docker's filter rules beside the network's: Docker sets the `FORWARD` policy of the `ip filter`
 * table to DROP and forwards into its bridges only the ports it publishes. Another host's packet
 * to any other port of a container is dropped there, whatever the network's rules allow: with
 * nftables, an accept in the network's own table cannot undo a drop in Docker's table (every base
 * chain of the hook must accept); with iptables, the network's chain returns its allows to
 * FORWARD, where Docker's rules follow. Docker's documented place for the user's own accepts is
 * the chain `DOCKER-USER`. So every read of a host also lists, in the same command, the IPv4
 * FORWARD policy and the rules of DOCKER-USER; the deploy layer judges them against the model.
 * Nothing on the host is changed. (Docker 20.10 writes IPv6 rules only with its experimental
 * ip6tables option; they are not read.)
 */
import { reportSection } from './report-section';

/** What the host's IPv4 filter table says about forwarding, when it has one. */
export interface ForwardReport {
  /** The policy of FORWARD. */
  policy: string;
  /** Whether the chain DOCKER-USER exists (Docker manages this host's filter rules). */
  dockerUser: boolean;
  /** The ACCEPT rules of DOCKER-USER, as listed. */
  userAccepts: string[];
}

const BEGIN = '@@netpol-forward';
const END = '@@netpol-forward-end';

/**
 * Constant shell lines that print the report (stdout only). As in nat-check.ts, a legacy host's
 * filter table is listed only when the kernel already has one, waiting at most 3 s for the xtables
 * lock (an unbounded wait held the whole read behind another program's lock).
 */
export const FORWARD_REPORT_SCRIPT = [
  `echo ${BEGIN}`,
  'if command -v iptables >/dev/null 2>&1; then',
  '  case "$(iptables -V 2>/dev/null)" in',
  '    *legacy*) grep -qx filter /proc/net/ip_tables_names 2>/dev/null && f4=1 ;;',
  '    *) f4=1 ;;',
  '  esac',
  '  if [ -n "$f4" ]; then',
  '    iptables -w 3 -S FORWARD 2>/dev/null | sed -n "s/^-P FORWARD /policy /p"',
  '    iptables -w 3 -S DOCKER-USER 2>/dev/null | sed "s/^/user /"',
  '  fi',
  'fi',
  `echo ${END}`,
].join('\n');

/** Splits the output of a command that contains FORWARD_REPORT_SCRIPT into the report (none without a filter table) and the rest. */
export function splitForwardReport(stdout: string, host: string, step: string): { forward?: ForwardReport; rest: string } {
  const { lines, rest } = reportSection(stdout, { begin: BEGIN, end: END }, { host, step, check: 'FORWARD check', hint: 'The check lists the policy of FORWARD and the chain DOCKER-USER; look at what the host printed there' });
  let policy: string | undefined;
  let dockerUser = false;
  const userAccepts: string[] = [];
  for (const line of lines) {
    const p = /^policy (\S+)$/.exec(line);
    if (p) policy = p[1];
    else if (line === 'user -N DOCKER-USER') dockerUser = true;
    else if (line.startsWith('user -A DOCKER-USER ') && / -j ACCEPT$/.test(line)) userAccepts.push(line.slice('user '.length));
  }
  return policy === undefined ? { rest } : { forward: { policy, dockerUser, userAccepts }, rest };
}
