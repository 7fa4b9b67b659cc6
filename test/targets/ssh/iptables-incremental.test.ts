/**
 * The incremental iptables apply on a lab host (iptables-incremental.ts): after a one-endpoint
 * change only the difference is sent, unchanged chains keep their rules and packet counters, and
 * the measured matrix equals `netpol reach`; a hand edit makes the next apply a full, repairing one;
 * a delta that fails its check changes nothing (rules, sets, record).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { labTarget, rejection, rulesetOf, stackModel, writeModelFile } from './support';
import { Lab, Matrix, requireLabPrerequisites } from '../../lab/lab';
import { runCli } from '../../support/cli';
import { ModelInput } from '../../../provider/model/model';
import { applyIptables } from '../../../provider/targets/ssh/iptables-apply';
import { deleteHost } from '../../../provider/targets/ssh/hosts';
import { HostRuleset, hashRule } from '../../../provider/ruleset';

let lab: Lab;
let recordDir: string;
const NETWORK = 'incremental-ipt';

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'h1' }],
    endpoints: ['a', 'b', 'c'].map((name) => ({ name, host: 'h1', listen: { tcp: [80] } })),
  });
  recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-incipt-'));
}, 60_000);

afterAll(async () => {
  if (lab) await deleteHost(labTarget(lab, 'h1'), 'h1', 'iptables', rulesetOf(model(['x', 'x', 'y']), 'iptables').table, { recordDir }).catch(() => undefined);
  await lab?.destroy();
  if (recordDir) fs.rmSync(recordDir, { recursive: true, force: true });
});

const model = (stacks: [string, string, string]): ModelInput => stackModel(lab, NETWORK, 'h1', stacks);
const apply = (r: HostRuleset) => applyIptables(labTarget(lab, 'h1'), r, { record: { dir: recordDir } });

async function reach(m: ModelInput): Promise<Matrix> {
  const r = await runCli(['reach', writeModelFile(lab, 'h1', m, 'iptables'), '--format', 'json', '--probe', 'tcp/80']);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out) as { probes: { probe: string; matrix: Record<string, Record<string, boolean>> }[] };
  return Object.fromEntries(doc.probes.map((p) => [p.probe, p.matrix]));
}

/** Per own tier chain (not the entry or hash chain): its rules with their packet and byte counters (the header line, which counts references, left out). */
async function chainCounters(r: HostRuleset): Promise<Map<string, string>> {
  const entry = r.iptables!.entryChain;
  const chains = r.iptables!.v4.split('\n').map((l) => /^:(\S+) /.exec(l)?.[1]).filter((c): c is string => !!c && c !== entry && c !== `${entry}_HASH`);
  const out = new Map<string, string>();
  for (const c of chains) out.set(c, (await lab.exec('h1', ['iptables', '-L', c, '-v', '-x', '-n'])).stdout.split('\n').slice(1).join('\n'));
  return out;
}

/** iptables-save (both families) and ipset save, counters and timestamps aside. */
async function hostState(): Promise<string> {
  const outputs = await Promise.all([['iptables-save', '-t', 'filter'], ['ip6tables-save', '-t', 'filter'], ['ipset', 'save']].map((argv) => lab.exec('h1', argv)));
  return outputs.map((o) => o.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).sort().join('\n')).join('\n');
}

const chainLines = (r: HostRuleset, chain: string) => r.iptables!.v4.split('\n').filter((l) => l.startsWith(`-A ${chain} `));

test('one endpoint changes stack: a delta, unchanged chains keep rules and counters, the matrix equals reach; a hand edit makes the next apply full and repairs it', async () => {
  const m1 = model(['x', 'x', 'y']);
  const m2 = model(['x', 'y', 'y']);
  const r1 = rulesetOf(m1, 'iptables');
  const r2 = rulesetOf(m2, 'iptables');
  const full = await apply(r1);
  expect(full).toMatchObject({ changed: true, mode: 'full' });

  // Traffic first, so the counters hold something a rewrite would reset.
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(true);
  expect(await lab.probe('c', 'a', 'tcp/80')).toBe(false);
  const before = await chainCounters(r1);
  expect([...before.values()].join('\n')).toMatch(/^\s*[1-9]\d*\s+\d+\s/m);

  const delta = await apply(r2);
  expect(delta).toMatchObject({ changed: true, mode: 'incremental', hash: r2.hash });
  expect(delta.bytesSent).toBeLessThan(full.bytesSent!);
  const after = await chainCounters(r2);
  const unchanged = [...before.keys()].filter((c) => after.has(c) && chainLines(r1, c).join('\n') === chainLines(r2, c).join('\n'));
  expect(unchanged.length).toBeGreaterThan(0);
  for (const c of unchanged) expect({ chain: c, listing: after.get(c) }).toEqual({ chain: c, listing: before.get(c) });
  expect(await lab.measureMatrix(['tcp/80'])).toEqual(await reach(m2));

  // A hand edit of our chain: the live listing no longer matches the record, so the next apply is full and removes it.
  const tier = unchanged[0];
  await lab.exec('h1', ['iptables', '-I', tier, '1', '-j', 'RETURN']);
  const repaired = await apply(r1);
  expect(repaired).toMatchObject({ changed: true, mode: 'full' });
  expect((await lab.exec('h1', ['iptables', '-S', tier])).stdout).not.toMatch(new RegExp(`^-A ${tier} -j RETURN$`, 'm'));
  expect(await lab.measureMatrix(['tcp/80'])).toEqual(await reach(m1));
  // And from the repaired state the next change is a delta again.
  expect(await apply(r2)).toMatchObject({ changed: true, mode: 'incremental' });
  expect(await lab.measureMatrix(['tcp/80'])).toEqual(await reach(m2));
}, 120_000);

test('a delta that fails its check (iptables-restore --test) changes nothing: rules, sets and record stay, the staged set is gone', async () => {
  const r2 = rulesetOf(model(['x', 'y', 'y']), 'iptables');
  await apply(r2);
  const before = await hostState();
  const ipt = r2.iptables!;
  const badHash = 'ffff'.repeat(16);
  const extraSet = `${r2.table}_zz_4`;
  const bad: HostRuleset = {
    ...r2,
    hash: badHash,
    iptables: {
      ...ipt,
      ipset: `${ipt.ipset}create ${extraSet} hash:ip family inet maxelem 65536 -exist\nadd ${extraSet} 10.231.9.9\n`,
      v4: ipt.v4.replace(hashRule(ipt.entryChain, r2.hash), `-A ${ipt.entryChain} -m conntrack --ctstate NOSUCHSTATE -j DROP\n${hashRule(ipt.entryChain, badHash)}`),
      v6: ipt.v6.replace(hashRule(ipt.entryChain, r2.hash), hashRule(ipt.entryChain, badHash)),
    },
  };
  const err = await rejection(apply(bad));
  expect(err.message).toMatch(/^host h1: check changed chains \(iptables-restore --test\) failed: .*Nothing was changed on the host$/s);
  expect(await hostState()).toBe(before);
  expect((await lab.exec('h1', ['ipset', 'list', '-n'])).stdout).not.toContain(extraSet);
  // The record still describes the live rules: applying r2 again is a no-op.
  expect(await apply(r2)).toMatchObject({ changed: false });
}, 60_000);

// --test parses but does not commit: a jump to a missing chain passes the check and fails the
// ip6tables step, after the sets and the v4 chains changed. The reverse delta puts all of it back.
test('a delta failing after its check is undone at once by the reverse delta: rules and sets as before, the next apply still a delta', async () => {
  const m1 = model(['x', 'x', 'y']);
  const r1 = rulesetOf(m1, 'iptables');
  const r2 = rulesetOf(model(['x', 'y', 'y']), 'iptables');
  await apply(r1);
  const before = await hostState();
  const ipt = r2.iptables!;
  const badHash = 'eeee'.repeat(16);
  const bad: HostRuleset = {
    ...r2,
    hash: badHash,
    iptables: {
      ...ipt,
      v4: ipt.v4.replace(hashRule(ipt.entryChain, r2.hash), hashRule(ipt.entryChain, badHash)),
      v6: ipt.v6.replace(hashRule(ipt.entryChain, r2.hash), `-A ${ipt.entryChain} -j ${ipt.entryChain}_MISSING\n${hashRule(ipt.entryChain, badHash)}`),
    },
  };
  const err = await rejection(apply(bad));
  expect(err.message).toMatch(/^host h1: ip6tables-restore \(changed chains\) failed: .*The previous rules were restored$/s);
  expect(await hostState()).toBe(before);
  expect(await lab.measureMatrix(['tcp/80'])).toEqual(await reach(m1));
  expect(await apply(r2)).toMatchObject({ changed: true, mode: 'incremental' });
}, 60_000);
