/** The NAT report: Docker's POSTROUTING rules as iptables -S and nft list them, parsed into NatRules. */
import { parseIptablesNatLine, parseNftNatLine, splitNatReport } from '../../../provider/targets/ssh/nat-check';

describe('parseIptablesNatLine', () => {
  it.each([
    ['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE', { source: { cidr: '172.17.0.0/16', negated: false } }],
    ['-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
      { source: { cidr: '172.17.0.2/32', negated: false }, destination: { cidr: '172.17.0.2/32', negated: false } }],
    ['-A POSTROUTING ! -s 10.0.0.0/8 -o eth0 -j SNAT --to-source 192.0.2.1', { source: { cidr: '10.0.0.0/8', negated: true } }],
    ['-A POSTROUTING -o eth0 -j MASQUERADE', {}],
  ])('%s', (line, fields) => {
    expect(parseIptablesNatLine(4, 'iptables -t nat', line)).toEqual({ family: 4, text: line, listedBy: 'iptables -t nat', ...fields });
  });

  it.each([
    '-P POSTROUTING ACCEPT',
    '-N DOCKER',
    '-A POSTROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A PREROUTING -s 172.17.0.0/16 -j MASQUERADE',
    '-A POSTROUTING -s 172.17.0.0/16 -j RETURN',
    '-A POSTROUTING -o docker0 -m addrtype --src-type LOCAL -j MASQUERADE',
  ])('not a source-NAT rule of POSTROUTING: %s', (line) => {
    expect(parseIptablesNatLine(4, 'iptables -t nat', line)).toBeUndefined();
  });
});

describe('parseNftNatLine', () => {
  it.each([
    ['ip saddr 172.17.0.0/16 oifname != "docker0" counter packets 0 bytes 0 masquerade', 4, { source: { cidr: '172.17.0.0/16', negated: false } }],
    ['ip saddr != 10.0.0.0/8 snat to 192.0.2.1', 4, { source: { cidr: '10.0.0.0/8', negated: true } }],
    ['ip6 saddr fd00::/64 ip6 daddr != fd00::/64 masquerade', 6, { source: { cidr: 'fd00::/64', negated: false }, destination: { cidr: 'fd00::/64', negated: true } }],
  ] as const)('%s', (line, family, fields) => {
    expect(parseNftNatLine(family, 'nft', line)).toEqual({ family, text: line, listedBy: 'nft', ...fields });
  });

  it.each(['type nat hook postrouting priority srcnat; policy accept;', 'ip saddr { 10.0.0.0/8, 172.16.0.0/12 } masquerade', 'oifname "eth0" accept', 'oifname "docker0" fib saddr type local masquerade'])('left out: %s', (line) => {
    expect(parseNftNatLine(4, 'nft', line)).toBeUndefined();
  });
});

describe('splitNatReport', () => {
  it('takes the tagged rules out and leaves the rest', () => {
    const stdout = ['before', '@@netpol-nat', 'ipt4 -P POSTROUTING ACCEPT', 'ipt4 -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
      'ipt6 -A POSTROUTING -s fd00:1::/64 ! -o docker0 -j MASQUERADE', 'nft4 table ip nat {', '@@netpol-nat-end', 'table inet netpol_1 {'].join('\n');
    const { nat, rest } = splitNatReport(stdout, 'h1', 'read table');
    expect(nat.map((r) => [r.family, r.listedBy, r.source?.cidr])).toEqual([[4, 'iptables -t nat', '172.17.0.0/16'], [6, 'ip6tables -t nat', 'fd00:1::/64']]);
    expect(rest).toBe('before\ntable inet netpol_1 {');
  });

  it('a host that printed no report: an error naming the host and the check', () => {
    expect(() => splitNatReport('table inet x {', 'h1', 'read table')).toThrow('host h1: read table failed: unexpected output of the NAT check: no "@@netpol-nat" line');
  });
});
