/** The FORWARD report: the policy and Docker's DOCKER-USER accepts, as iptables -S lists them. */
import { splitForwardReport } from '../../../provider/targets/ssh/forward-check';

const report = (...lines: string[]) => ['banner', '@@netpol-forward', ...lines, '@@netpol-forward-end', 'table inet netpol_1 {'].join('\n');

test.each([
  ['Docker as installed', report('policy DROP', 'user -N DOCKER-USER', 'user -A DOCKER-USER -j RETURN'), { policy: 'DROP', dockerUser: true, userAccepts: [] }],
  ['the routed recipe', report('policy DROP', 'user -N DOCKER-USER', 'user -A DOCKER-USER -i transit -o docker0 -j ACCEPT', 'user -A DOCKER-USER -j RETURN'),
    { policy: 'DROP', dockerUser: true, userAccepts: ['-A DOCKER-USER -i transit -o docker0 -j ACCEPT'] }],
  ['a host without Docker', report('policy ACCEPT'), { policy: 'ACCEPT', dockerUser: false, userAccepts: [] }],
])('%s', (_what, stdout, forward) => {
  expect(splitForwardReport(stdout, 'h1', 'read table')).toEqual({ forward, rest: 'banner\ntable inet netpol_1 {' });
});

test('no filter table (or no iptables): no report', () => {
  expect(splitForwardReport(report(), 'h1', 'read table')).toEqual({ rest: 'banner\ntable inet netpol_1 {' });
});

test('a host that printed no report: an error naming the host and the check', () => {
  expect(() => splitForwardReport('table inet x {', 'h1', 'read table')).toThrow('host h1: read table failed: unexpected output of the FORWARD check: no "@@netpol-forward" line');
});
