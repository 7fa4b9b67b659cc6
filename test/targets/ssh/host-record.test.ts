import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HostRecord, forgetScript, recordClearScript, recordInput, recordReadScript, recordWriteScript, splitRecord } from '../../../provider/targets/ssh/host-record';

/** The scripts run by the same POSIX sh the hosts run them with, in a folder of the test's own. */
const sh = (script: string, stdin = '') => execFileSync('/bin/sh', ['-c', script], { input: stdin, encoding: 'utf8' });

describe("a host's record, read with the table in one command", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-record-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const nftText = 'table inet netpol_ab12cd34 {\n\tcomment "netpol:00ff"\n\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n';
  const iptText = '# ipset restore\ncreate netpol_ab12cd34_s1 hash:net family inet\n# iptables-restore --noflush\n*filter\n:NETPOL-AB12CD34 - [0:0]\nCOMMIT\n# ip6tables-restore --noflush\n*filter\nCOMMIT\n';

  test.each<[string, HostRecord]>([
    ['nftables text with a policy', { rendered: nftText, live: 'table inet netpol_ab12cd34 {\n}\n', policy: 'netpol-policy-1 H4sIAAAA' }],
    ['iptables sections without a policy (a record of an older version)', { rendered: iptText, live: '# ipv4\n# ipv6\n# ipset\n' }],
  ])('%s: what was written reads back, and the rest of the output is untouched', (_what, record) => {
    const place = { dir: path.join(dir, 'h_1'), table: 'netpol_ab12cd34' };
    sh(recordWriteScript(place), recordInput(record));
    const out = sh(`echo before\n${recordReadScript(place)}\necho after`);
    expect(splitRecord(out, 'h1', 'read table')).toEqual({ record, rest: 'before\nafter\n' });
  });

  test('no record: none is read, and clearing or forgetting leaves no file behind', () => {
    const place = { dir: path.join(dir, 'h_2'), table: 'netpol_ab12cd34' };
    expect(splitRecord(sh(recordReadScript(place)), 'h2', 'read table')).toEqual({ rest: '' });
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: 'x\n', policy: 'p' }));
    expect(fs.readdirSync(place.dir).sort()).toEqual(['netpol_ab12cd34.live', 'netpol_ab12cd34.policy', 'netpol_ab12cd34.rendered']);
    sh(recordClearScript(place));
    expect(fs.readdirSync(place.dir)).toEqual([]);
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: 'x\n' }));
    expect(forgetScript({ stateDir: dir, table: 'netpol_ab12cd34' }, place.dir)).toContain(recordClearScript(place));
  });

  test('a rewrite without a policy removes the old policy file', () => {
    const place = { dir: path.join(dir, 'h_3'), table: 'netpol_ab12cd34' };
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: 'x\n', policy: 'old' }));
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: 'y\n' }));
    expect(splitRecord(sh(recordReadScript(place)), 'h3', 'read table').record).toEqual({ rendered: nftText, live: 'y\n' });
  });

  test.each([
    ['a relative folder', { dir: 'var/lib', table: 'netpol_ab12cd34' }, /not a plain absolute path/],
    ['a folder with a quote', { dir: "/var/lib/x';reboot;'", table: 'netpol_ab12cd34' }, /not a plain absolute path/],
    ['a folder going up', { dir: '/var/lib/../../etc', table: 'netpol_ab12cd34' }, /not a plain absolute path/],
    ['a table that is not a generated name', { dir: '/var/lib/pulumi-netpolicy', table: 'x; rm -rf /' }, /not a valid generated name/],
  ])('%s is refused before any command is built', (_what, place, message) => {
    expect(() => recordReadScript(place)).toThrow(message);
    expect(() => recordWriteScript(place)).toThrow(message);
    expect(() => recordClearScript(place)).toThrow(message);
  });

  test('output without the markers fails the read, naming the host and step', () => {
    expect(() => splitRecord('table inet x {\n}\n', 'h9', 'read table')).toThrow(/h9.*read table|read table.*h9/s);
  });
});
