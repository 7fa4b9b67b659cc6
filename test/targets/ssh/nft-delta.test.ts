/**
 * Incremental nftables applies on a lab host: after a one-endpoint change only the difference is
 * sent, unchanged rules and sets keep their handles, and the measured matrix is what `reach`
 * says; a hand edit or a foreign change makes the next apply a full, repairing replace; a delta
 * nft -c rejects changes nothing.
 */
import { Lab, requireLabPrerequisites } from '../../lab/lab';
import { compile } from '../../../provider/compile';
import { parseModel } from '../../../provider/model/model';
import { reach } from '../../../provider/analyze/reach';
import { parseProbe } from '../../../provider/analyze/probe';
import { applyNftables, readNftables } from '../../../provider/targets/ssh/nftables-apply';
import { normalizeNftListing } from '../../../provider/targets/ssh/nftables-listing';
import { SshSession, observeSsh, runOnHost } from '../../../provider/targets/ssh/session';
import { lockTable } from '../../../provider/targets/ssh/table-lock';
import { DEFAULT_STATE_DIR, forgetRollbackScript } from '../../../provider/targets/ssh/rollback';
import { SNAPSHOT_SUFFIX, UNRESTORED_SUFFIX, placeScript } from '../../../provider/targets/ssh/table-place';
import { HostRuleset, rulesText } from '../../../provider/ruleset';
import type { ModelInput } from '../../../provider/model/model';
import { labTarget, rulesetOf, stackModel, timerFiles } from './support';

let lab: Lab;
const RECORD = { dir: '/var/lib/pulumi-netpolicy/test-records' };
const NAMES = ['a', 'b', 'c'];

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'h1' }],
    endpoints: NAMES.map((name) => ({ name, host: 'h1', listen: { tcp: [80] } })),
  });
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

const model = (stacks: [string, string, string]): ModelInput => stackModel(lab, 'delta', 'h1', stacks);
const apply = (rs: HostRuleset, extra: { force?: boolean } = {}) => applyNftables(labTarget(lab, 'h1'), rs, { record: RECORD, ...extra });

async function listing(table: string): Promise<string> {
  return (await lab.exec('h1', ['nft', '-a', 'list', 'table', 'inet', table])).stdout;
}

/** `<block>: <rule line without its handle> #<n-th such line>` → handle, for every line that has one. */
function handles(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let block = '';
  for (const line of text.split('\n')) {
    const m = /^(.*?) # handle (\d+)$/.exec(line);
    if (!m) continue;
    if (/^\t(set|map|chain) /.test(line)) block = m[1].trim();
    let key = `${block}: ${m[1].trim()}`;
    while (out.has(key)) key += ' (again)';
    out.set(key, m[2]);
  }
  return out;
}

/** The measured tcp/80 matrix equals reach() of the model, cell by cell. */
async function expectMatrixAsReach(input: ModelInput): Promise<void> {
  const ps = compile(parseModel(input));
  const probe = parseProbe('tcp/80');
  if (typeof probe === 'string') throw new Error(probe);
  for (const from of NAMES) {
    for (const to of NAMES) {
      if (from === to) continue;
      expect({ from, to, allowed: await lab.probe(from, to, 'tcp/80') }).toEqual({ from, to, allowed: reach(ps, from, to, probe).allowed });
    }
  }
}

test('a one-endpoint change is sent as a delta: unchanged rules and sets keep their handles, the matrix is as reach says', async () => {
  const before = model(['x', 'x', 'y']);
  const first = await apply(rulesetOf(before, 'nftables'), { force: true });
  expect(first.mode).toBe('full');
  const table = rulesetOf(before, 'nftables').table;
  const was = handles(await listing(table));

  // b moves from stack x to stack y: the sets and the dispatch change, the stacks' chains do not.
  const after = model(['x', 'y', 'y']);
  const rs = rulesetOf(after, 'nftables');
  const second = await apply(rs);
  expect(second).toMatchObject({ changed: true, mode: 'incremental' });
  expect(second.bytesSent ?? Infinity).toBeLessThan((rs.nft ?? '').length); // the 10,000-endpoint ratio is in bench/incremental.ts
  const now = handles(await listing(table));
  const kept = [...now].filter(([line, handle]) => was.get(line) === handle);
  const keptLines = kept.map(([line]) => line);
  expect(keptLines).toEqual(expect.arrayContaining(['chain forward {: ct state vmap { invalid : drop, established : accept, related : accept }', 'chain forward {: ip daddr vmap @rancher_ingress_v4']));
  expect(keptLines.filter((l) => /^chain t_/.test(l)).length).toBeGreaterThanOrEqual(6); // two tier chains: the chain, its two rules
  expect(keptLines.filter((l) => /^(set|map) /.test(l)).length).toBe(3); // both sets and the map: elements changed in place
  // Every line present before and after keeps its handle, but the hash rule, which is rewritten.
  for (const [line, handle] of now) if (was.has(line) && !line.startsWith('chain version {: return')) expect({ line, handle }).toEqual({ line, handle: was.get(line) });
  expect((await readNftables(labTarget(lab, 'h1'), 'h1', table)).hash).toBe(rs.hash);
  await expectMatrixAsReach(after);
});

test('an apply sends the host nothing it already has: the rollback snapshot and the record\'s listing are kept on the host (rollback.test restores from it), the record\'s text changes by its changed lines', async () => {
  const first = rulesetOf(model(['x', 'x', 'y']), 'nftables');
  await apply(first, { force: true });
  const table = first.table;
  const previous = (await readNftables(labTarget(lab, 'h1'), 'h1', table)).text ?? '';
  const rs = rulesetOf(model(['x', 'y', 'y']), 'nftables');
  const sent: { step: string; stdin: string; received: number }[] = [];
  const stop = observeSsh({ ran: (_host, step, { stdin }, received) => sent.push({ step, stdin, received }) });
  let applied;
  try {
    applied = await apply(rs);
  } finally {
    stop();
  }
  expect(applied.mode).toBe('incremental');
  const now = (await readNftables(labTarget(lab, 'h1'), 'h1', table, RECORD.dir));
  // A listing's body (its blocks) is in no command's input: neither the one before (the rollback
  // snapshot) nor the one after (the record's).
  const body = (listing: string) => listing.split('\n').slice(1, -2).join('\n');
  for (const { step, stdin } of sent) {
    expect({ step, previous: stdin.includes(body(previous)), after: stdin.includes(body(now.text ?? '')) }).toEqual({ step, previous: false, after: false });
  }
  // The record's rules text is rewritten from the lines that changed (the host checks the result).
  const saves = sent.filter((s) => s.step === 'save record');
  expect(saves).toHaveLength(1);
  expect(saves[0].stdin.length).toBeLessThan((rs.nft ?? '').length / 4);
  expect(now.record?.rendered).toBe(rulesText(rs));
  expect(normalizeNftListing(now.record?.live ?? '')).toBe(now.text); // the record holds the confirming listing
  expect(await timerFiles(lab, 'h1', table)).toEqual([]); // the snapshot went with the disarm
  // The confirming read sent its difference from the first read's listing, not the listing, and
  // what the client made of it is the listing the host has.
  const reads = sent.filter((s) => s.step === 'read table');
  expect(reads).toHaveLength(2);
  expect(reads[0].received).toBeGreaterThan(previous.length);
  expect(reads[1].received).toBeLessThan((now.text ?? '').length);
  expect(applied.liveText).toBe(now.text);

  // An apply that changes nothing leaves no snapshot either (the lock's release removes it).
  await apply(rs);
  expect(await timerFiles(lab, 'h1', table)).toEqual([]);
});

test('a hand edit or a foreign change to our table makes the next apply a full, repairing replace', async () => {
  const base = model(['x', 'y', 'y']);
  const rs = rulesetOf(base, 'nftables');
  await apply(rs, { force: true });
  // A hand edit: a rule added in our forward chain (the hash stays, the listing differs).
  await lab.exec('h1', ['nft', 'insert', 'rule', 'inet', rs.table, 'forward', 'drop']);
  const next = model(['x', 'x', 'y']);
  const repaired = await apply(rulesetOf(next, 'nftables'));
  expect(repaired).toMatchObject({ changed: true, mode: 'full' });
  // The inserted drop is gone: the forward chain starts with its own first rule again.
  expect(await listing(rs.table)).toMatch(/\tchain forward \{ # handle \d+\n\t\tcomment [^\n]*\n\t\ttype [^\n]*\n\t\tct state vmap/);
  await expectMatrixAsReach(next);

  // A foreign element in one of our sets.
  const set = /^\tset (\S+) \{/m.exec(await listing(rs.table))?.[1] ?? '';
  await lab.exec('h1', ['nft', 'add', 'element', 'inet', rs.table, set, '{ 10.231.0.99 }']);
  const again = await apply(rulesetOf(base, 'nftables'));
  expect(again).toMatchObject({ changed: true, mode: 'full' });
  expect(await listing(rs.table)).not.toContain('10.231.0.99');
  await expectMatrixAsReach(base);
});

test('a delta nft -c rejects changes nothing', async () => {
  const base = model(['x', 'x', 'y']);
  const rs = rulesetOf(base, 'nftables');
  await apply(rs, { force: true });
  const before = await listing(rs.table);
  // The next rules reference a set the delta never declares: valid to the guard and the delta, not to nft.
  const next = rulesetOf(model(['x', 'x', 'x']), 'nftables');
  const broken: HostRuleset = { ...next, nft: (next.nft ?? '').replace(/(\t\tmeta nfproto ipv4 ip saddr @)s_[0-9a-f]{12}_v4/, '$1s_000000000000_v4') };
  await expect(apply(broken)).rejects.toThrow(/check rules \(nft -c\) failed[\s\S]*Nothing was changed/);
  expect(await listing(rs.table)).toBe(before);
});

test('a listing the read cannot keep on the host (its file cannot be written) fails the apply, saying so, and changes nothing', async () => {
  const rs = rulesetOf(model(['x', 'y', 'y']), 'nftables');
  await apply(rs, { force: true });
  const before = await listing(rs.table);
  // Where the read writes the listing first is a folder: it cannot be a file.
  const base = `${placeScript({ table: rs.table, stateDir: DEFAULT_STATE_DIR })}\nf="$base${SNAPSHOT_SUFFIX}.new"`;
  await runOnHost(labTarget(lab, 'h1'), `${base}\nmkdir -p "$f"`);
  try {
    const next = rulesetOf(model(['x', 'x', 'y']), 'nftables');
    await expect(apply(next)).rejects.toThrow(/h1: read table failed: the listing could not be kept on the host: cannot write \S+\.snapshot\.new[\s\S]*nothing was changed/);
    expect(await listing(rs.table)).toBe(before);
  } finally {
    await runOnHost(labTarget(lab, 'h1'), `${base}\nrmdir "$f"`);
  }
});

test("after a restore that failed, the lock's release moves the snapshot (the host's only copy of the previous rules) where no later read writes; after one that worked it removes it", async () => {
  const place = { table: 'netpol_5a0c0ffe', stateDir: DEFAULT_STATE_DIR };
  const base = `${placeScript(place)}\ns="$base${SNAPSHOT_SUFFIX}"; u="$base${UNRESTORED_SUFFIX}"`;
  const target = labTarget(lab, 'h1');
  /** Takes the lock, leaves what a restore with this log and a read of `listing` leave, releases it. */
  const releaseAfter = async (log: string, listing: string) => {
    const session = await SshSession.open(target, 'h1');
    try {
      const lock = await lockTable(session, place);
      await session.run(`${base}\necho ${listing} > "$s" && printf 'nft: error\\n${log}\\n' > "$base.fired.log" && touch "$base.fired"`);
      await lock.release();
    } finally {
      session.close();
    }
  };
  const left = async () => (await runOnHost(target, `${base}\nfor f in "$s" "$u"; do [ -e "$f" ] && echo "\${f##*.}: $(cat "$f")"; done; true`)).stdout.trim();
  try {
    await releaseAfter('exit 1', 'previous');
    expect(await left()).toBe('unrestored: previous');
    // A later read (an apply that finds nothing to change) does not take its place.
    await releaseAfter('exit 1', 'current');
    expect(await left()).toBe('unrestored: previous');
    // Delete forgets it with the other rollback files.
    await runOnHost(target, forgetRollbackScript(place));
    expect(await left()).toBe('');
    await releaseAfter('exit 0', 'previous');
    expect(await left()).toBe('');
  } finally {
    await runOnHost(target, forgetRollbackScript(place));
  }
});

test('a rollback timer under 3 s is refused before anything is sent (nft -f is ended 2 s before it fires)', async () => {
  const rs = rulesetOf(model(['x', 'y', 'y']), 'nftables');
  const sent: string[] = [];
  const stop = observeSsh({ ran: (_host, step) => sent.push(step) });
  try {
    await expect(applyNftables(labTarget(lab, 'h1'), rs, { record: RECORD, rollbackTimerSec: 2 })).rejects.toThrow('rollback timer 2 s must be 3..3600');
  } finally {
    stop();
  }
  expect(sent).toEqual([]);
});
