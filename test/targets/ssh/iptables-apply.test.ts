import * as crypto from 'crypto';
import { labTarget } from './support';
import { Lab, requireLabPrerequisites } from '../../lab/lab';
import { HostError } from '../../../provider/targets/ssh/host-error';
import { deleteHost, readHost } from '../../../provider/targets/ssh/hosts';
import { applyIptables } from '../../../provider/targets/ssh/iptables-apply';
import { HostRuleset } from '../../../provider/targets/ssh/ruleset';

let lab: Lab;
const TABLE = 'netpol_ipt1';
const ENTRY = 'NETPOL_IPT1_FWD';

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'h1' }],
    endpoints: [
      { name: 'a', host: 'h1', listen: { tcp: [80] } },
      { name: 'b', host: 'h1', listen: { tcp: [80] } },
      { name: 'c', host: 'h1', listen: { tcp: [80] } },
    ],
  });
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

/** Drops tcp/80 from the members of one set to `dst`. */
function ruleset(sources: string[], dst: string, v4Extra = ''): HostRuleset {
  const set = `${TABLE}_src`;
  const ipset = [`create ${set} hash:ip family inet`, `flush ${set}`, ...sources.map((s) => `add ${set} ${s}`)].join('\n') + '\n';
  const content = ipset + dst + v4Extra;
  const hash = crypto.createHash('sha256').update(content).digest('hex');
  const v4 = ['*filter', `:${ENTRY} - [0:0]`, `-A ${ENTRY} -m comment --comment netpol:${hash}`, `-A ${ENTRY} -p tcp -m set --match-set ${set} src -d ${dst}/32 --dport 80 -j DROP`, v4Extra, 'COMMIT', ''].filter((l) => l !== undefined).join('\n');
  const v6 = ['*filter', `:${ENTRY} - [0:0]`, `-A ${ENTRY} -m comment --comment netpol:${hash}`, 'COMMIT', ''].join('\n');
  return { host: 'h1', backend: 'iptables', table: TABLE, hash, iptables: { ipset, v4, v6, entryChain: ENTRY } };
}

async function ownState(): Promise<string> {
  const v4 = (await lab.exec('h1', ['iptables-save', '-t', 'filter'])).stdout;
  const v6 = (await lab.exec('h1', ['ip6tables-save', '-t', 'filter'])).stdout;
  const sets = (await lab.exec('h1', ['ipset', 'list', '-n'])).stdout;
  const strip = (t: string): string => t.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return `${strip(v4)}\n${strip(v6)}\n${sets}`;
}

const ip = (name: string): string => lab.endpoint(name).ipv4;

test('apply, idempotence (counters survive a no-op apply), update, delete', async () => {
  const first = ruleset([ip('a')], ip('b'));
  expect((await applyIptables(labTarget(lab, 'h1'), first)).changed).toBe(true);
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(false);
  expect(await lab.probe('c', 'b', 'tcp/80')).toBe(true);
  expect(await lab.probe('b', 'a', 'tcp/80')).toBe(true);
  const hooks = (await lab.exec('h1', ['iptables', '-S', 'FORWARD'])).stdout;
  expect(hooks).toContain(`-A FORWARD -j ${ENTRY}`);

  const counters = async (): Promise<string> => (await lab.exec('h1', ['iptables', '-L', ENTRY, '-v', '-x', '-n'])).stdout;
  const before = await counters();
  expect(before).toMatch(/^\s*[1-9]\d*\s+\d+\s+DROP/m); // the drop rule counted the probe
  const again = await applyIptables(labTarget(lab, 'h1'), first);
  expect(again.changed).toBe(false);
  expect(await counters()).toBe(before); // a rewrite would have reset them
  expect((await readHost(labTarget(lab, 'h1'), 'h1', 'iptables', TABLE)).hash).toBe(first.hash);

  const second = ruleset([ip('a'), ip('c')], ip('b'));
  expect((await applyIptables(labTarget(lab, 'h1'), second)).changed).toBe(true);
  expect(await lab.probe('c', 'b', 'tcp/80')).toBe(false);
  expect((await lab.exec('h1', ['iptables', '-S', 'FORWARD'])).stdout.match(new RegExp(ENTRY, 'g'))).toHaveLength(1); // hooked once
  expect((await lab.exec('h1', ['ipset', 'list', '-n'])).stdout.trim()).toBe(`${TABLE}_src`); // temporary sets gone

  const deleted = await deleteHost(labTarget(lab, 'h1'), 'h1', 'iptables', TABLE);
  expect(deleted.deleted).toBe(true);
  expect(await ownState()).not.toMatch(/NETPOL_IPT1|netpol_ipt1/);
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(true);
  expect((await deleteHost(labTarget(lab, 'h1'), 'h1', 'iptables', TABLE)).deleted).toBe(false);
}, 60_000);

test('a failing step restores the previous rules; other chains are untouched', async () => {
  await lab.exec('h1', ['iptables', '-N', 'OTHERTOOL']);
  await lab.exec('h1', ['iptables', '-A', 'OTHERTOOL', '-s', '10.231.1.250', '-j', 'DROP']);
  await lab.exec('h1', ['iptables', '-A', 'FORWARD', '-j', 'OTHERTOOL']);
  const good = ruleset([ip('a')], ip('b'));
  await applyIptables(labTarget(lab, 'h1'), good);
  const before = await ownState();
  const bad = ruleset([ip('c')], ip('b'), `-A ${ENTRY} -p tcp --dport 99999 -j DROP`);
  let err: unknown;
  try {
    await applyIptables(labTarget(lab, 'h1'), bad);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HostError);
  expect((err as HostError).message).toMatch(/^host h1: iptables-restore failed: .*The previous rules were restored/s);
  expect(await ownState()).toBe(before);
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(false);
  expect(await lab.probe('c', 'b', 'tcp/80')).toBe(true);
  await deleteHost(labTarget(lab, 'h1'), 'h1', 'iptables', TABLE);
  expect((await lab.exec('h1', ['iptables', '-S', 'OTHERTOOL'])).stdout).toContain('-A OTHERTOOL -s 10.231.1.250/32 -j DROP');
  expect((await lab.exec('h1', ['iptables', '-S', 'FORWARD'])).stdout).toContain('-A FORWARD -j OTHERTOOL');
}, 60_000);
