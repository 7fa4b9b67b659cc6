/**
 * The iptables snapshot restore on a lab host: it checks before it changes anything, so a restore
 * that cannot be made leaves the rules live now in place (never fewer), and one that can puts
 * back exactly the snapshot. The unrestorable snapshot is hand-made: a snapshot read from a real
 * host restores (that is what the apply's check before arming makes sure of), so the failing
 * case is built by giving the restore a rule iptables-restore rejects.
 */
import { ONE_HOST_STACK_LAB, labForSuite } from '../../lab/suite';
import { applyHost, readHost } from '../../../provider/targets/ssh/hosts';
import { IptablesSnapshot, restoreScript } from '../../../provider/targets/ssh/iptables-rollback';
import { runOnHost } from '../../../provider/targets/ssh/session';
import { labTarget, rulesetOf, stackModel } from './support';

const lab = labForSuite(ONE_HOST_STACK_LAB);

/** iptables-save of both families and ipset save, minus timestamps and ipset's random initval. */
async function listing(): Promise<string> {
  const outputs = await Promise.all([['iptables-save', '-t', 'filter'], ['ip6tables-save', '-t', 'filter'], ['ipset', 'save']].map((argv) => lab().exec('h1', argv)));
  return outputs.map((r) => r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/ initval 0x[0-9a-f]+/g, '')).join('\n');
}

const ruleCount = (text: string): number => text.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith('add ')).length;

test('a restore that fails its check changes nothing: no fewer rules or set members than before, and it says why', async () => {
  const model = stackModel(lab(), 'restore-test', 'h1', ['s1', 's1', 's2']);
  const ruleset = rulesetOf(model, 'iptables');
  await applyHost(labTarget(lab(), 'h1'), ruleset);
  const before = await listing();
  expect(ruleCount(before)).toBeGreaterThan(3);
  const table = ruleset.table;
  const chain = table.toUpperCase();
  const unrestorable: IptablesSnapshot = {
    chains: { v4: [`:${chain} - [0:0]`, `-A ${chain} -m conntrack --ctstate NOSUCHSTATE -j DROP`], v6: [] },
    hooks: { v4: [chain], v6: [] },
    sets: [`create ${table}_x hash:ip family inet`, `add ${table}_x 10.231.9.9`],
  };
  const r = await runOnHost(labTarget(lab(), 'h1'), restoreScript(table, unrestorable, '0abc'));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/restore of the saved rules: iptables-restore --test rejected it; nothing was restored, the current rules stay/);
  expect(r.stderr).toMatch(/NOSUCHSTATE/);
  const after = await listing();
  expect(ruleCount(after)).toBe(ruleCount(before));
  expect(after).toBe(before); // the staged copy of the saved set is gone too
  expect(await lab().probe('a', 'b', 'tcp/80')).toBe(true);
  expect(await lab().probe('a', 'c', 'tcp/80')).toBe(false);
}, 60_000);

test('a restore puts back exactly the snapshot over other rules of ours: chains, hooks and set members; "check" changes nothing', async () => {
  const first = rulesetOf(stackModel(lab(), 'restore-test', 'h1', ['s1', 's1', 's2']), 'iptables');
  const second = rulesetOf(stackModel(lab(), 'restore-test', 'h1', ['s1', 's2', 's2']), 'iptables');
  await applyHost(labTarget(lab(), 'h1'), first);
  const snapshotText = await listing();
  const read = await readHost(labTarget(lab(), 'h1'), 'h1', 'iptables', first.table);
  expect(read.hash).toBe(first.hash);
  // The snapshot as the apply takes it: own chains, hooks and sets from iptables-save / ipset save.
  const own = (lines: string[], p: RegExp): string[] => lines.filter((l) => p.test(l));
  const chain = first.table.toUpperCase();
  const saved = { v4: (await lab().exec('h1', ['iptables-save', '-t', 'filter'])).stdout.split('\n'), v6: (await lab().exec('h1', ['ip6tables-save', '-t', 'filter'])).stdout.split('\n') };
  const chains = (lines: string[]): string[] => own(lines, new RegExp(`^(:|-A )${chain}(_[A-Z0-9_]*)? `)).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'));
  const hooks = (lines: string[]): string[] => own(lines, new RegExp(`^-A FORWARD -j ${chain}`)).map((l) => l.split(' ')[3]);
  const snapshot: IptablesSnapshot = {
    chains: { v4: chains(saved.v4), v6: chains(saved.v6) },
    hooks: { v4: hooks(saved.v4), v6: hooks(saved.v6) },
    sets: (await lab().exec('h1', ['ipset', 'save'])).stdout.split('\n').filter((l) => l.split(' ')[1]?.startsWith(`${first.table}_`)),
  };
  await applyHost(labTarget(lab(), 'h1'), second);
  const secondText = await listing();
  expect(secondText).not.toBe(snapshotText);
  const script = restoreScript(first.table, snapshot, '0abc');
  expect((await runOnHost(labTarget(lab(), 'h1'), `set -- check\n${script}`)).code).toBe(0);
  expect(await listing()).toBe(secondText);
  const r = await runOnHost(labTarget(lab(), 'h1'), script);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(await listing()).toBe(snapshotText);
  expect(await lab().probe('a', 'b', 'tcp/80')).toBe(true);
  expect(await lab().probe('b', 'c', 'tcp/80')).toBe(false);
}, 60_000);
