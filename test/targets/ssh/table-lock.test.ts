/**
 * One apply of a table at a time on a host, on both backends: the table's lock is taken before
 * anything is read, held to the end and released on every exit path; the loser of a race fails
 * fast naming the holder and leaves nothing behind. Two models that call the same host by
 * different names still meet at the lock. iptables also counts the sets' members, not only the
 * chains' hash comment, when it decides that the rules are applied.
 */
import { ONE_HOST_STACK_LAB, labForSuite } from '../../lab/suite';
import { runCli } from '../../support/cli';
import { ModelInput } from '../../../provider/model/model';
import { HostRuleset } from '../../../provider/ruleset';
import { applyHost, deleteHost } from '../../../provider/targets/ssh/hosts';
import { labTarget, lockIsFree, ownRules, rejection, rulesetOf, stackModel, stagedSets, timerFiles, writeModelFile } from './support';

const NETWORK = 'lock-test';
const ROUNDS = 20;
const lab = labForSuite(ONE_HOST_STACK_LAB);

/** Model A puts a and b together, model B b and c; the second calls h1 by another name. */
const MODEL_A = (): ModelInput => stackModel(lab(), NETWORK, 'h1', ['s1', 's1', 's2']);
const MODEL_B = (): ModelInput => stackModel(lab(), NETWORK, 'h1-other-name', ['s1', 's2', 's2']);

const LOCK_MESSAGE = /another apply of table netpol_[0-9a-f]{8} on host (h1|h1-other-name) is running \(pid \d+, since \d{4}-\d\d-\d\dT[\d:.]+Z\)/;

describe.each([['nftables' as const], ['iptables' as const]])('%s', (backend) => {
  const a = () => rulesetOf(MODEL_A(), backend);
  const b = () => rulesetOf(MODEL_B(), backend);
  const table = () => a().table;

  afterEach(async () => {
    await deleteHost(labTarget(lab(), 'h1'), 'h1', backend, table());
  });

  test('while an apply holds the lock, another (the same host by another name) fails fast and stages nothing; the first goes on', async () => {
    let reachedConfirm!: () => void;
    const atConfirm = new Promise<void>((r) => (reachedConfirm = r));
    let letGo!: () => void;
    const released = new Promise<void>((r) => (letGo = r));
    const first = applyHost(labTarget(lab(), 'h1'), a(), { hooks: { afterApplyBeforeConfirm: async () => { reachedConfirm(); await released; } } });
    await atConfirm;
    try {
      const during = await ownRules(lab(), 'h1', backend, table());
      const started = Date.now();
      const err = await rejection(applyHost(labTarget(lab(), 'h1'), b()));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err.step).toBe('lock table');
      expect(err.message).toMatch(LOCK_MESSAGE);
      expect(err.message).toContain('on host h1-other-name');
      expect(err.message).toContain('Nothing was read or changed on the host');
      expect(await ownRules(lab(), 'h1', backend, table())).toBe(during);
      expect(await stagedSets(lab(), 'h1', table())).toEqual([]);
      expect(await lockIsFree(lab(), 'h1', table())).toBe(false);
    } finally {
      letGo();
    }
    expect((await first).changed).toBe(true);
    expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
    expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
    expect((await applyHost(labTarget(lab(), 'h1'), b())).changed).toBe(true); // and now B may
  }, 60_000);

  test('the lock is released on every exit path: up to date, applied, rejected by the check', async () => {
    expect((await applyHost(labTarget(lab(), 'h1'), a())).changed).toBe(true);
    expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
    expect((await applyHost(labTarget(lab(), 'h1'), a())).changed).toBe(false);
    expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
    const good = b();
    const bad: HostRuleset = backend === 'nftables'
      ? { ...good, nft: (good.nft ?? '').replace(/\tchain forward \{\n/, '\tchain forward {\n\t\tip saddr 10.231.999.1 drop\n') }
      : { ...good, iptables: good.iptables && { ...good.iptables, v4: good.iptables.v4.replace(/\nCOMMIT/, `\n-A ${good.iptables.entryChain} -m conntrack --ctstate NOSUCHSTATE -j DROP\nCOMMIT`) } };
    const err = await rejection(applyHost(labTarget(lab(), 'h1'), bad));
    expect(err.step).toMatch(/^check rules/);
    expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
    expect(await stagedSets(lab(), 'h1', table())).toEqual([]);
  }, 60_000);

  test(`acceptance: two netpol apply of different models on the same host at once, ${ROUNDS} rounds`, async () => {
    const fileA = writeModelFile(lab(), 'h1', MODEL_A(), backend);
    const fileB = writeModelFile(lab(), 'h1', MODEL_B(), backend);
    // What each model alone leaves on the host.
    const alone: Record<string, string> = {};
    for (const [name, file] of [['A', fileA], ['B', fileB]]) {
      const r = await runCli(['apply', file, '--rollback-timer', '5']);
      expect(r.code).toBe(0);
      alone[name] = await ownRules(lab(), 'h1', backend, table());
    }
    expect(alone.A).not.toBe(alone.B);

    const winners: string[] = [];
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      // --force: each run does the whole apply, as a changing model would.
      const [ra, rb] = await Promise.all([fileA, fileB].map((f) => runCli(['apply', f, '--rollback-timer', '5', '--force'])));
      const runs = { A: ra, B: rb };
      const won = Object.entries(runs).filter(([, r]) => r.code === 0).map(([n]) => n);
      expect({ round, won }).toEqual({ round, won: [expect.stringMatching(/^[AB]$/)] });
      const winner = won[0];
      const loser = winner === 'A' ? 'B' : 'A';
      winners.push(winner);
      expect({ round, loser: runs[loser as 'A' | 'B'].err }).toEqual({ round, loser: expect.stringMatching(LOCK_MESSAGE) });
      expect({ round, live: await ownRules(lab(), 'h1', backend, table()) }).toEqual({ round, live: alone[winner] });
      const files = { A: fileA, B: fileB };
      const winnerStatus = await runCli(['status', files[winner as 'A' | 'B']]);
      expect({ round, status: winnerStatus.out, code: winnerStatus.code }).toEqual({ round, status: expect.stringMatching(/^h1(-other-name)?: in sync\n$/), code: 0 });
      const loserStatus = await runCli(['status', files[loser as 'A' | 'B']]);
      expect({ round, status: loserStatus.out }).toEqual({ round, status: expect.stringMatching(/^h1(-other-name)?: out of date: /) });
      expect({ round, staged: await stagedSets(lab(), 'h1', table()), files: await timerFiles(lab(), 'h1', table()), free: await lockIsFree(lab(), 'h1', table()) })
        .toEqual({ round, staged: [], files: [], free: true });
    }
    console.log(`${backend}: ${ROUNDS} rounds in ${((Date.now() - started) / 1000).toFixed(1)} s; A won ${winners.filter((w) => w === 'A').length}, B won ${winners.filter((w) => w === 'B').length}`);
  }, 300_000);
});

describe('iptables: the sets are part of what "applied" means', () => {
  const rs = () => rulesetOf(MODEL_A(), 'iptables');

  afterAll(async () => {
    await deleteHost(labTarget(lab(), 'h1'), 'h1', 'iptables', rs().table);
  });

  test('a member added to an own set by hand is not "up to date": apply (without --force) puts the rendered members back', async () => {
    await applyHost(labTarget(lab(), 'h1'), rs());
    const applied = await ownRules(lab(), 'h1', 'iptables', rs().table);
    const set = /^add (\S+) /m.exec(rs().iptables?.ipset ?? '')?.[1] ?? '';
    expect(set).not.toBe('');
    await lab().exec('h1', ['ipset', 'add', set, '10.231.250.250']);
    const again = await applyHost(labTarget(lab(), 'h1'), rs());
    expect(again.changed).toBe(true);
    expect(await ownRules(lab(), 'h1', 'iptables', rs().table)).toBe(applied);
  }, 60_000);

  test('a temporary set an interrupted earlier run left is removed once the lock is taken', async () => {
    const leftover = `${rs().table}_t0123abcd`;
    await lab().exec('h1', ['ipset', 'create', leftover, 'hash:ip']);
    await applyHost(labTarget(lab(), 'h1'), rs(), { force: true });
    expect(await stagedSets(lab(), 'h1', rs().table)).toEqual([]);
  }, 60_000);
});
