/**
 * The confirming read's listing sent as its difference from the first read's (kept on the host):
 * the host script (differenceScript) run by sh over files, its output read back as the client does
 * (listingFromDifference). Needs GNU diff, sed and sha256sum, as a Debian host has them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { READ_CLEANUP, differenceScript, listingFromDifference, normalizeNftListing } from '../../../provider/targets/ssh/nftables-listing';

const MARKER = 'netpol-listing-difference ';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-difference-')); });
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const chain = (rules: string[]) => `table inet netpol_ab12cd34 {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}\n}\n`;
const many = (n: number, counter: (i: number) => string) => Array.from({ length: n }, (_, i) => `ip saddr 10.0.${i >> 8}.${i & 255} ${counter(i)} drop`);

/** Runs the host's lines with `since` and `kept` as the two listings; returns what they print. */
function hostSends(since: string | undefined, kept: string): string {
  const sinceFile = path.join(dir, 'snapshot');
  if (since !== undefined) fs.writeFileSync(sinceFile, since);
  fs.writeFileSync(path.join(dir, 'kept'), kept);
  const script = `netpol_keep=${path.join(dir, 'kept')}\n${differenceScript(`netpol_since=${sinceFile}`)}\nexit "$netpol_rc"`;
  return execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
}

test('a changed rule and changed counters: the difference is sent, and gives the new listing with counters zeroed', () => {
  const before = chain(many(300, (i) => `counter packets ${i} bytes ${i * 60}`));
  const after = chain([...many(20, (i) => `counter packets ${i + 7} bytes ${i * 60 + 420}`), ...many(300, (i) => `counter packets ${i} bytes ${i * 60}`).slice(20, 150), 'ip saddr 10.9.9.9 drop', ...many(300, (i) => `counter packets ${i} bytes ${i * 60}`).slice(151)]);
  const sent = hostSends(before, after);
  expect(sent.startsWith(MARKER)).toBe(true);
  expect(sent.length).toBeLessThan(after.length);
  expect(listingFromDifference(sent, { script: '', text: normalizeNftListing(before) })).toBe(normalizeNftListing(after));
});

test("a host copy that is not the client's is found out, and the difference is not used (the caller reads the listing whole)", () => {
  const rules = many(100, () => 'counter packets 0 bytes 0');
  const before = chain(rules);
  const other = chain(rules.map((r, i) => (i === 40 ? 'ip saddr 10.8.8.8 drop' : r)));
  // The host's snapshot differs from the client's text on a line the difference names ...
  expect(listingFromDifference(hostSends(other, chain(rules)), { script: '', text: normalizeNftListing(before) })).toBeUndefined();
  // ... or only on a line the difference leaves alone: only the host's sha256 can tell.
  const after = chain([...rules.map((r, i) => (i === 40 ? 'ip saddr 10.8.8.8 drop' : r)), 'ip saddr 10.9.9.9 drop']);
  const sent = hostSends(other, after);
  expect(sent.split('\n').slice(1).join('\n')).toMatch(/^\d+a\d+\n> \t\tip saddr 10\.9\.9\.9 drop\n$/);
  expect(listingFromDifference(sent, { script: '', text: normalizeNftListing(before) })).toBeUndefined();
  // The same difference against the host's own copy gives the listing.
  expect(listingFromDifference(sent, { script: '', text: normalizeNftListing(other) })).toBe(normalizeNftListing(after));
});

test('an ended read leaves no file of its own behind in the temporary folder', () => {
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const since = path.join(dir, 'snapshot');
  fs.writeFileSync(since, chain(many(50, () => 'counter packets 0 bytes 0')));
  // As listTable runs it, ended while the difference is taken (diff is made to hang).
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'diff'), '#!/bin/sh\ncase "$1" in --version) echo "diff (GNU diffutils)";; *) kill -TERM $PPID; sleep 1 2>/dev/null;; esac\n', { mode: 0o755 });
  const script = [
    'netpol_keep_optional=1; netpol_keep=',
    READ_CLEANUP,
    'netpol_keep=$(mktemp "${TMPDIR:-/tmp}/netpol-listing.XXXXXX"); netpol_tmp=1',
    `cat ${since} > "$netpol_keep"`,
    differenceScript(`netpol_since=${since}`),
  ].join('\n');
  expect(() => execFileSync('/bin/sh', ['-c', script], { env: { ...process.env, TMPDIR: tmp, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' })).toThrow();
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('no snapshot on the host, or a difference longer than the listing: the listing is sent', () => {
  const after = chain(many(50, () => 'counter packets 0 bytes 0'));
  expect(hostSends(undefined, after)).toBe(after);
  const unlike = chain(many(50, (i) => `counter packets ${i + 1} bytes 1`));
  expect(hostSends(unlike, after)).toBe(after);
});
