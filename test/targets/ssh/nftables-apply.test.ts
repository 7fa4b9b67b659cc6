import * as crypto from 'crypto';
import { Lab, requireLabPrerequisites } from '../../lab/lab';
import { hostSync } from '../../../provider/deploy/hosts/sync';
import { rulesText } from '../../../provider/deploy/hosts/rules';
import { HostsTarget } from '../../../provider/deploy/hosts/target';
import { deleteHost, readHost } from '../../../provider/targets/ssh/hosts';
import { applyNftables } from '../../../provider/targets/ssh/nftables-apply';
import { HostRuleset } from '../../../provider/ruleset';
import { runOnHost } from '../../../provider/targets/ssh/session';
import { labTarget, rejection } from './support';

let lab: Lab;
const TABLE = 'netpol_e2e1';

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'h1' }, { name: 'h2' }],
    endpoints: [
      { name: 'a', host: 'h1', listen: { tcp: [80] } },
      { name: 'b', host: 'h1', listen: { tcp: [80] } },
      { name: 'c', host: 'h2', listen: { tcp: [80] } },
    ],
  });
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

/** A hand-written ruleset: drop tcp/80 between the given (source, destination) address pairs, plus extra chains. */
function ruleset(host: string, drops: Array<[string, string]>, extraChains = ''): HostRuleset {
  const rules = drops.map(([s, d]) => `\t\tip saddr ${s} ip daddr ${d} tcp dport 80 drop`).join('\n');
  const body = `\tchain forward_filter {\n\t\ttype filter hook forward priority filter; policy accept;\n${rules}\n\t}\n${extraChains}`;
  const hash = crypto.createHash('sha256').update(body).digest('hex');
  const version = `\tchain version {\n\t\treturn comment "netpol:${hash}"\n\t}\n`;
  return { host, backend: 'nftables', table: TABLE, hash, nft: `table inet ${TABLE} {\n${version}${body}}\n` };
}

async function listTable(host: string, table = TABLE): Promise<string> {
  const r = await lab.exec(host, ['nft', '-a', 'list', 'table', 'inet', table], { check: false });
  return r.code === 0 ? r.stdout : '(absent)';
}

const ip = (name: string): string => lab.endpoint(name).ipv4;

test('apply filters forwarded traffic; a second apply writes nothing', async () => {
  const rs = ruleset('h1', [[ip('a'), ip('b')]]);
  const first = await applyNftables(labTarget(lab, 'h1'), rs);
  expect(first.changed).toBe(true);
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(false);
  expect(await lab.probe('b', 'a', 'tcp/80')).toBe(true);
  expect(await lab.probe('a', 'c', 'tcp/80')).toBe(true);

  const before = await listTable('h1');
  const handle = /# handle (\d+)/.exec(before)?.[1];
  expect(handle).toBeDefined();
  const second = await applyNftables(labTarget(lab, 'h1'), rs);
  expect(second.changed).toBe(false);
  expect(await listTable('h1')).toBe(before); // same table handle and rule handles: no rewrite

  const forced = await applyNftables(labTarget(lab, 'h1'), rs, { force: true });
  expect(forced.changed).toBe(true);
  expect(/# handle (\d+)/.exec(await listTable('h1'))?.[1]).not.toBe(handle); // the proof above can fail
  const read = await readHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE);
  expect(read).toMatchObject({ present: true, hash: rs.hash });
  expect(hostSync(forced.hash, read, { rendered: '', live: forced.liveText })).toEqual({ state: 'in sync' });
});

test('an invalid ruleset is rejected by nft -c and leaves the host unchanged', async () => {
  const before = await listTable('h1');
  const bad = ruleset('h1', [[ip('a'), '10.231.999.1']]);
  const err = await rejection(applyNftables(labTarget(lab, 'h1'), bad));
  expect(err.message).toMatch(/^host h1: check rules \(nft -c\) failed: .*Error/s);
  expect(err.step).toBe('check rules (nft -c)');
  expect(err.message).toContain('Nothing was changed');
  expect(await listTable('h1')).toBe(before);
  // The check runs first in the command that would arm the timer and apply: neither happened.
  expect((await runOnHost(labTarget(lab, 'h1'), 'ls -A /var/lib/pulumi-netpolicy')).stdout).not.toMatch(/\.(timer|rollback\.sh)$/m);
});

test('a hand edit shows up as drift; a forced apply repairs it', async () => {
  const rs = ruleset('h1', [[ip('a'), ip('b')]]);
  const applied = await applyNftables(labTarget(lab, 'h1'), rs, { force: true });
  await lab.exec('h1', ['nft', 'add', 'rule', 'inet', TABLE, 'forward_filter', 'ip', 'saddr', ip('b'), 'drop']);
  const drift = hostSync(applied.hash, await readHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE), { rendered: '', live: applied.liveText });
  expect(drift.state).toBe('drift');
  expect(drift.reason).toMatch(/edited on the host/);
  expect((await applyNftables(labTarget(lab, 'h1'), rs)).changed).toBe(false); // same hash: idempotence alone does not repair
  const repaired = await applyNftables(labTarget(lab, 'h1'), rs, { force: true });
  expect(hostSync(repaired.hash, await readHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE), { rendered: '', live: repaired.liveText })).toEqual({ state: 'in sync' });
  expect(await lab.probe('b', 'a', 'tcp/80')).toBe(true);
});

test("another tool's table is untouched by apply and delete", async () => {
  await lab.exec('h1', ['nft', '-f', '-'], {
    stdin: 'table inet othertool {\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tip saddr 10.231.1.250 drop\n\t}\n}\n',
  });
  const other = await listTable('h1', 'othertool');
  await applyNftables(labTarget(lab, 'h1'), ruleset('h1', [[ip('b'), ip('a')]]));
  expect(await listTable('h1', 'othertool')).toBe(other);
  const del = await deleteHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE);
  expect(del.deleted).toBe(true);
  expect(await listTable('h1')).toBe('(absent)');
  expect(await listTable('h1', 'othertool')).toBe(other);
  expect((await deleteHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE)).deleted).toBe(false);
  const files = await runOnHost(labTarget(lab, 'h1'), 'ls -A /var/lib/pulumi-netpolicy');
  expect(files.stdout).toBe('');
  await lab.exec('h1', ['nft', 'delete', 'table', 'inet', 'othertool']);
});

test('a text that would flush the ruleset after our table is refused before anything is sent', async () => {
  await lab.exec('h1', ['nft', '-f', '-'], { stdin: 'table inet othertool {\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n\t}\n}\n' });
  try {
    const good = ruleset('h1', [[ip('a'), ip('b')]]);
    const hostile = { ...good, nft: (good.nft ?? '').replace(/\}\n$/, '}; flush ruleset\n') };
    const before = await listTable('h1', 'othertool');
    const err = await rejection(applyNftables(labTarget(lab, 'h1'), hostile));
    expect(err.step).toBe('validate ruleset');
    expect(err.message).toContain('nothing was sent to the host');
    expect(await listTable('h1', 'othertool')).toBe(before);
  } finally {
    await lab.exec('h1', ['nft', 'delete', 'table', 'inet', 'othertool'], { check: false });
  }
});

test('rules that cut SSH are rolled back by the host-side timer', async () => {
  const good = ruleset('h1', [[ip('a'), ip('b')]]);
  await applyNftables(labTarget(lab, 'h1'), good);
  const before = await listTable('h1');
  const lockout = ruleset('h1', [], '\tchain input_filter {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22 drop\n\t}\n');
  const started = Date.now();
  const err = await rejection(applyNftables(labTarget(lab, 'h1', { connectTimeoutMs: 1500 }), lockout, { rollbackTimerSec: 3 }));
  expect(err.message).toMatch(/^host h1: confirm over a new SSH connection failed: .*rolled back by the host-side timer after 3 s/s);
  expect(Date.now() - started).toBeLessThan(30_000);
  const withoutHandles = (t: string): string => t.replace(/ # handle \d+/g, '');
  expect(withoutHandles(await listTable('h1'))).toBe(withoutHandles(before)); // previous table back
  expect((await readHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE)).hash).toBe(good.hash);
  expect(await lab.probe('a', 'b', 'tcp/80')).toBe(false);
}, 60_000);

test('test hook: a lock-out after apply (other table drops SSH) is undone by the timer', async () => {
  const good = ruleset('h1', [[ip('a'), ip('b')]]);
  await applyNftables(labTarget(lab, 'h1'), good);
  const next = ruleset('h1', [[ip('b'), ip('a')]]);
  const applying = applyNftables(labTarget(lab, 'h1', { connectTimeoutMs: 1500 }), next, {
      rollbackTimerSec: 3,
      hooks: {
        afterApplyBeforeConfirm: async () => {
          await lab.exec('h1', ['nft', '-f', '-'], { stdin: 'table inet locktest {\n\tchain i {\n\t\ttype filter hook input priority -10; policy accept;\n\t\ttcp dport 22 tcp flags & (syn | ack) == syn drop\n\t}\n}\n' });
        },
      },
    });
  try {
    const err = await rejection(applying);
    expect(err.message).toMatch(/rolled back by the host-side timer after 3 s \(verified: the timer fired\)/);
  } finally {
    await lab.exec('h1', ['nft', 'delete', 'table', 'inet', 'locktest'], { check: false });
  }
  expect((await readHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE)).hash).toBe(good.hash);
}, 60_000);

test('many hosts: a host that is down is named, the others are applied; after sshd is back a rerun converges', async () => {
  await deleteHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE);
  const desired = [
    { target: labTarget(lab, 'h1'), ruleset: ruleset('h1', [[ip('c'), ip('a')]]) },
    { target: labTarget(lab, 'h2'), ruleset: ruleset('h2', [[ip('a'), ip('c')]]) },
  ];
  // Through the deploy layer's hosts target, as both doors apply.
  const applyAll = () => new HostsTarget(desired.map(({ ruleset: r }) => ({ name: r.host, ruleset: r, text: rulesText(r) })),
    desired.map(({ target, ruleset: r }) => ({ name: r.host, target }))).apply();
  await lab.stopSshd('h2');
  try {
    const report = await applyAll();
    expect(report.items.filter((i) => i.ok).map((i) => (i.ok ? i.value.name : ''))).toEqual(['h1']);
    const failed = report.items.filter((i) => !i.ok);
    expect(failed.map((i) => (i.ok ? '' : i.name))).toEqual(['h2']);
    expect(failed.map((i) => (i.ok ? '' : i.error.message))[0]).toMatch(/^host h2: connect failed: .*connection refused/s);
    expect(await lab.probe('c', 'a', 'tcp/80')).toBe(false); // h1 filters
    expect(await lab.probe('a', 'c', 'tcp/80')).toBe(true); // h2 got nothing
  } finally {
    await lab.startSshd('h2');
  }
  const h1Before = await listTable('h1');
  const rerun = await applyAll();
  expect(rerun.items.map((i) => (i.ok ? [i.value.name, i.value.changed] : [i.name, i.error.message]))).toEqual([['h1', false], ['h2', true]]);
  expect(await listTable('h1')).toBe(h1Before); // same rule handles: h1 was not written again
  expect(await lab.probe('c', 'a', 'tcp/80')).toBe(false);
  expect(await lab.probe('a', 'c', 'tcp/80')).toBe(false); // h2 filters now too
  for (const h of ['h1', 'h2']) expect((await readHost(labTarget(lab, h), h, 'nftables', TABLE)).hash).toBe(desired.find((d) => d.ruleset.host === h)!.ruleset.hash);
  await deleteHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE);
  await deleteHost(labTarget(lab, 'h2'), 'h2', 'nftables', TABLE);
});

test('a user without rights (the lab login user, no sudo): refresh, apply and destroy fail naming the host and the fix; the table stays', async () => {
  const applied = ruleset('h1', [[ip('b'), ip('a')]]);
  await applyNftables(labTarget(lab, 'h1'), applied);
  const before = await listTable('h1');
  const noRights = labTarget(lab, 'h1', { user: lab.loginUser.user });
  const read = await rejection(readHost(noRights, 'h1', 'nftables', TABLE));
  expect(read.message).toMatch(/^host h1: read table failed: nft: .*Operation not permitted/s);
  expect(read.message).toContain('Log in as root, or set sudo: true with password-less sudo (NOPASSWD)');
  for (const attempt of [(): Promise<unknown> => applyNftables(noRights, ruleset('h1', [])), (): Promise<unknown> => deleteHost(noRights, 'h1', 'nftables', TABLE)]) {
    const err = await rejection(attempt());
    expect(err.host).toBe('h1');
    expect(err.message).toContain('Log in as root, or set sudo: true');
  }
  expect(await listTable('h1')).toBe(before);
  expect(await deleteHost(labTarget(lab, 'h1'), 'h1', 'nftables', TABLE)).toMatchObject({ deleted: true });
});
