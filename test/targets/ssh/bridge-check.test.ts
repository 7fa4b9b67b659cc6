/** The bridge report: strict parsing of the host's answer, and the warnings it turns into. */
import { BridgeReport, bridgeWarnings, splitBridgeReport } from '../../../provider/targets/ssh/bridge-check';
import { HostError } from '../../../provider/targets/ssh/host-error';

const out = (...lines: string[]): string => lines.join('\n');

describe('splitBridgeReport', () => {
  test.each<[string, string, BridgeReport, string]>([
    [
      'no bridge, both sysctls on; the rest is what the read printed',
      out('@@netpol-bridges', 'nf-call-iptables 1', 'nf-call-ip6tables 1', '@@netpol-bridges-end', 'table inet t {', '}', ''),
      { bridges: [], iptables: '1', ip6tables: '1' },
      'table inet t {\n}\n',
    ],
    [
      'two bridges, sorted and deduplicated, IPv4 off',
      out('@@netpol-bridges', 'bridge docker0', 'bridge br-1a2b', 'bridge docker0', 'nf-call-iptables 0', 'nf-call-ip6tables 1', '@@netpol-bridges-end', ''),
      { bridges: ['br-1a2b', 'docker0'], iptables: '0', ip6tables: '1' },
      '',
    ],
    [
      'br_netfilter not loaded',
      out('@@netpol-bridges', 'bridge docker0', 'nf-call-iptables absent', 'nf-call-ip6tables absent', '@@netpol-bridges-end'),
      { bridges: ['docker0'], iptables: 'absent', ip6tables: 'absent' },
      '',
    ],
    [
      "a login shell's banner in front is skipped",
      out('Welcome!', '@@netpol-bridges', 'nf-call-iptables 1', 'nf-call-ip6tables 1', '@@netpol-bridges-end', 'table inet t {', '}'),
      { bridges: [], iptables: '1', ip6tables: '1' },
      'table inet t {\n}',
    ],
  ])('%s', (_what, stdout, report, rest) => {
    expect(splitBridgeReport(stdout, 'h1', 'read table')).toEqual({ report, rest });
  });

  test.each<[string, string, string]>([
    ['no report at all', out('Welcome!', 'table inet t {', '}'), 'no "@@netpol-bridges" line'],
    ['no end marker', out('@@netpol-bridges', 'nf-call-iptables 1', 'nf-call-ip6tables 1'), 'no "@@netpol-bridges-end" line'],
    ['a value that is not 0 or 1', out('@@netpol-bridges', 'nf-call-iptables 2', 'nf-call-ip6tables 1', '@@netpol-bridges-end'), '"nf-call-iptables 2"'],
    ['a value twice', out('@@netpol-bridges', 'nf-call-iptables 1', 'nf-call-iptables 0', 'nf-call-ip6tables 1', '@@netpol-bridges-end'), '"nf-call-iptables 0"'],
    ['a value missing', out('@@netpol-bridges', 'nf-call-iptables 1', '@@netpol-bridges-end'), 'a bridge-nf-call value is missing'],
    ['a name longer than the kernel allows', out('@@netpol-bridges', 'bridge abcdefghijklmnop', 'nf-call-iptables 1', 'nf-call-ip6tables 1', '@@netpol-bridges-end'), '"bridge abcdefghijklmnop"'],
    ['an unknown line, control characters escaped', out('@@netpol-bridges', 'port \x1b[2J', 'nf-call-iptables 1', 'nf-call-ip6tables 1', '@@netpol-bridges-end'), '"port \\u{1b}[2J"'],
  ])('rejects %s', (_what, stdout, cause) => {
    let err: unknown;
    try {
      splitBridgeReport(stdout, 'h1', 'read table');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).message).toContain('host h1: read table failed: unexpected output of the bridge check: ');
    expect((err as HostError).message).toContain(cause);
  });
});

describe('bridgeWarnings', () => {
  const tail = 'traffic between endpoints on that bridge bypasses the rules.';
  test.each<[string, BridgeReport, string[]]>([
    ['no bridge with ports: nothing, whatever the sysctls', { bridges: [], iptables: '0', ip6tables: 'absent' }, []],
    ['a bridge, both on: nothing', { bridges: ['docker0'], iptables: '1', ip6tables: '1' }, []],
    [
      'IPv4 off',
      { bridges: ['docker0'], iptables: '0', ip6tables: '1' },
      [`h1: bridge docker0 has ports, but net.bridge.bridge-nf-call-iptables is 0: ${tail} Set it to 1 (as Docker does), or route the endpoints instead of bridging them.`],
    ],
    [
      'IPv6 off is checked too (always, whatever the addresses)',
      { bridges: ['docker0'], iptables: '1', ip6tables: '0' },
      [`h1: bridge docker0 has ports, but net.bridge.bridge-nf-call-ip6tables is 0: ${tail} Set it to 1 (as Docker does), or route the endpoints instead of bridging them.`],
    ],
    [
      'both off, two bridges: one warning per family naming both',
      { bridges: ['br0', 'docker0'], iptables: '0', ip6tables: '0' },
      [
        'h1: bridges br0, docker0 have ports, but net.bridge.bridge-nf-call-iptables is 0: traffic between endpoints on those bridges bypasses the rules. Set it to 1 (as Docker does), or route the endpoints instead of bridging them.',
        'h1: bridges br0, docker0 have ports, but net.bridge.bridge-nf-call-ip6tables is 0: traffic between endpoints on those bridges bypasses the rules. Set it to 1 (as Docker does), or route the endpoints instead of bridging them.',
      ],
    ],
    [
      'br_netfilter not loaded: one warning',
      { bridges: ['docker0'], iptables: 'absent', ip6tables: 'absent' },
      [
        `h1: bridge docker0 has ports, but br_netfilter is not loaded (no /proc/sys/net/bridge): ${tail} ` +
          'Load br_netfilter and set net.bridge.bridge-nf-call-iptables and net.bridge.bridge-nf-call-ip6tables to 1 (as Docker does), or route the endpoints instead of bridging them.',
      ],
    ],
    [
      'a bridge name with a control character is shown escaped',
      { bridges: ['\x1b[2J'], iptables: '0', ip6tables: '1' },
      [`h1: bridge \\u{1b}[2J has ports, but net.bridge.bridge-nf-call-iptables is 0: ${tail} Set it to 1 (as Docker does), or route the endpoints instead of bridging them.`],
    ],
    [
      'a value that could not be read counts as possibly off',
      { bridges: ['docker0'], iptables: 'unreadable', ip6tables: '1' },
      [`h1: bridge docker0 has ports, but net.bridge.bridge-nf-call-iptables is unreadable (so it may be off): ${tail} Set it to 1 (as Docker does), or route the endpoints instead of bridging them.`],
    ],
  ])('%s', (_what, report, warnings) => {
    expect(bridgeWarnings('h1', report)).toEqual(warnings);
  });
});
