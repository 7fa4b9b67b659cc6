import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as crypto from 'crypto';
import { HostRecord, LiveSource, forgetScript, keptLiveScript, recordClearScript, recordInput, recordPatchInput, recordPatchScript, recordReadScript, recordWriteScript, splitRecord, withSameLive } from '../../../provider/targets/ssh/host-record';
import { editScript, lineEdits } from '../../../provider/ruleset/line-edits';

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
    sh(recordWriteScript(place), recordInput({ ...record, live: { text: record.live } }));
    const out = sh(`echo before\n${recordReadScript(place)}\necho after`);
    expect(splitRecord(out, 'h1', 'read table')).toEqual({ record, rest: 'before\nafter\n' });
  });

  test('no record: none is read, and clearing or forgetting leaves no file behind', () => {
    const place = { dir: path.join(dir, 'h_2'), table: 'netpol_ab12cd34' };
    expect(splitRecord(sh(recordReadScript(place)), 'h2', 'read table')).toEqual({ rest: '' });
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'x\n' }, policy: 'p' }));
    expect(fs.readdirSync(place.dir).sort()).toEqual(['netpol_ab12cd34.live', 'netpol_ab12cd34.policy', 'netpol_ab12cd34.rendered']);
    sh(recordClearScript(place));
    expect(fs.readdirSync(place.dir)).toEqual([]);
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'x\n' } }));
    expect(forgetScript({ stateDir: dir, table: 'netpol_ab12cd34' }, place.dir)).toContain(recordClearScript(place));
  });

  test('read beside a kept listing: an equal record listing is only said to be equal (and filled in from the read\'s), a different one is printed', () => {
    const place = { dir: path.join(dir, 'h_8'), table: 'netpol_ab12cd34' };
    const live = 'table inet netpol_ab12cd34 {\n\tchain version {\n\t}\n}\n';
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: live }, policy: 'p' }));
    const kept = path.join(dir, 'listing');
    const read = (listing: string, rc = 0) => {
      fs.writeFileSync(kept, listing);
      return splitRecord(sh(`netpol_rc=${rc}\n${recordReadScript(place, `'${kept}'`)}`), 'h8', 'read table').record;
    };
    const same = read(live);
    expect(same?.live).not.toBe(live); // not sent
    expect(withSameLive(same, live)).toEqual({ rendered: nftText, live, policy: 'p' });
    const edited = live.replace('\t}\n}', '\t\tdrop\n\t}\n}');
    expect(withSameLive(read(edited), edited)).toEqual({ rendered: nftText, live, policy: 'p' }); // the record's own
    expect(withSameLive(read(live, 1), '')).toEqual({ rendered: nftText, live, policy: 'p' }); // nft failed: printed
  });

  test('a rewrite without a policy removes the old policy file', () => {
    const place = { dir: path.join(dir, 'h_3'), table: 'netpol_ab12cd34' };
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'x\n' }, policy: 'old' }));
    sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'y\n' } }));
    expect(splitRecord(sh(recordReadScript(place)), 'h3', 'read table').record).toEqual({ rendered: nftText, live: 'y\n' });
  });

  describe('a record rewritten from the lines that changed (the host keeps the listing)', () => {
    const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
    const lines = (text: string) => text.trimEnd().split('\n');
    const after = nftText.replace('netpol:00ff', 'netpol:11ee').replace('\t}\n}', '\t\tip saddr 10.0.0.1 drop\n\t}\n}');
    const patch = (place: { dir: string; table: string }, from: string, to: string, live: LiveSource, policy?: string) =>
      execFileSync('/bin/sh', ['-c', `(\n${recordPatchScript(place, sha(`${lines(to).join('\n')}\n`), live)}\n); echo "exit $?"`], { input: recordPatchInput(editScript(lineEdits(lines(from), lines(to), 100) ?? []), live, policy), encoding: 'utf8' });

    test('the patched text is the new one, the listing the one the confirming read kept, the policy the new one', () => {
      const place = { dir: path.join(dir, 'h_4'), table: 'netpol_ab12cd34' };
      sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'old listing\n' }, policy: 'old' }));
      sh(`${keptLiveScript(place)}\nprintf 'new listing\\n' > "$netpol_keep"`);
      expect(patch(place, nftText, after, 'kept', 'new')).toBe('exit 0\n');
      expect(splitRecord(sh(recordReadScript(place)), 'h4', 'read table').record).toEqual({ rendered: after, live: 'new listing\n', policy: 'new' });
      expect(fs.readdirSync(place.dir).sort()).toEqual(['netpol_ab12cd34.live', 'netpol_ab12cd34.policy', 'netpol_ab12cd34.rendered']);
    });

    test("a host copy that is not the text the edits were made from is left as it was (exit 3: the caller sends the text whole)", () => {
      const place = { dir: path.join(dir, 'h_5'), table: 'netpol_ab12cd34' };
      const other = nftText.replace('policy accept', 'policy drop');
      sh(recordWriteScript(place), recordInput({ rendered: other, live: { text: 'listing\n' }, policy: 'old' }));
      expect(patch(place, nftText, after, 'unchanged', 'new')).toBe('exit 3\n');
      expect(splitRecord(sh(recordReadScript(place)), 'h5', 'read table').record).toEqual({ rendered: other, live: 'listing\n', policy: 'old' });
      expect(fs.readdirSync(place.dir).sort()).toEqual(['netpol_ab12cd34.live', 'netpol_ab12cd34.policy', 'netpol_ab12cd34.rendered']);
    });


    test('a listing the confirming read did not keep fails the patch, saying so, before the text changes', () => {
      const place = { dir: path.join(dir, 'h_6'), table: 'netpol_ab12cd34' };
      sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'listing\n' }, policy: 'old' }));
      const out = execFileSync('/bin/sh', ['-c', `(\n${recordPatchScript(place, sha(after), 'kept')}\n) 2>&1; echo "exit $?"`], { input: recordPatchInput(editScript(lineEdits(lines(nftText), lines(after), 100) ?? []), 'kept', 'new'), encoding: 'utf8' });
      expect(out).toBe(`the confirming read's listing was not kept on the host: ${place.dir}/netpol_ab12cd34.live.new\nexit 1\n`);
      expect(splitRecord(sh(recordReadScript(place)), 'h6', 'read table').record).toEqual({ rendered: nftText, live: 'listing\n', policy: 'old' });
    });
    test('a listing sent with the edits (iptables) becomes the record\'s', () => {
      const place = { dir: path.join(dir, 'h_7'), table: 'netpol_ab12cd34' };
      sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'old listing\n' }, policy: 'p' }));
      expect(patch(place, nftText, after, { text: 'new listing\n--- netpol policy ---?\n' })).toBe('exit 0\n');
      expect(splitRecord(sh(recordReadScript(place)), 'h7', 'read table').record).toEqual({ rendered: after, live: 'new listing\n--- netpol policy ---?\n' });
    });

    test('a line of the new text that looks like an edit or the policy marker is inserted as it is', () => {
      const place = { dir: path.join(dir, 'h_6'), table: 'netpol_ab12cd34' };
      const odd = nftText.replace('\t}\n}', '\t}\n=5\n--- netpol policy ---\n+1\n}');
      sh(recordWriteScript(place), recordInput({ rendered: nftText, live: { text: 'listing\n' } }));
      expect(patch(place, nftText, odd, 'unchanged')).toBe('exit 0\n');
      expect(splitRecord(sh(recordReadScript(place)), 'h6', 'read table').record?.rendered).toBe(odd);
    });
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
