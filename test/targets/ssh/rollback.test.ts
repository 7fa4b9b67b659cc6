/**
 * The host-side rollback timer on both backends, on a lab host (no systemd as PID 1 here, so the
 * detached-job timer is the one tested):
 * - arming proves the timer alive and ours, and fails clearly when it cannot start one (setsid missing);
 * - a `netpol apply` killed with SIGKILL after arming, after the apply or during the confirm
 *   leaves the old rules (never a mix) and no timer or lock once the timer's time has passed;
 * - a timer record that names no live timer of ours (another boot, another process, an older
 *   format) is reported and removed, and the process it names is never signalled.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import { ONE_HOST_STACK_LAB, labForSuite } from '../../lab/suite';
import { runCli } from '../../support/cli';
import { ModelInput } from '../../../provider/model/model';
import { applyHost, deleteHost, readHost } from '../../../provider/targets/ssh/hosts';
import { ArmedTimer, armRollback } from '../../../provider/targets/ssh/rollback';
import { SshSession } from '../../../provider/targets/ssh/session';
import { DEFAULT_STATE_DIR } from '../../../provider/targets/ssh/table-place';
import { TEST_ONLY_PAUSE_VARIABLE, TestOnlyPauseStep } from '../../../provider/targets/ssh/test-pause';
import { labTarget, lockIsFree, ownRules, rejection, rulesetOf, spawnCli, stackModel, stagedSets, tableFiles, timerFiles, writeModelFile } from './support';

const NETWORK = 'rollback-test';
const TIMER_SEC = 5;
const lab = labForSuite(ONE_HOST_STACK_LAB);

const MODEL_A = (): ModelInput => stackModel(lab(), NETWORK, 'h1', ['s1', 's1', 's2']);
const MODEL_B = (): ModelInput => stackModel(lab(), NETWORK, 'h1', ['s1', 's2', 's2']);

/** Whether the process runs (a zombie does not: the lab's PID 1 may not reap the timer's processes). */
const isAlive = (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
};

/** `key=value` lines of a timer record on the host. */
async function record(file: string): Promise<Record<string, string>> {
  const text = (await lab().exec('h1', ['cat', file])).stdout;
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Field 22 of /proc/<pid>/stat: the process's start time. */
const startTime = (pid: number): string => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19];

describe.each([['nftables' as const], ['iptables' as const]])('%s', (backend) => {
  const table = () => rulesetOf(MODEL_A(), backend).table;

  afterAll(async () => {
    await deleteHost(labTarget(lab(), 'h1'), 'h1', backend, table());
  });

  test('arming proves the timer alive: the record names a live, detached process running the timer command, of this boot', async () => {
    const { base } = await tableFiles(lab(), 'h1', table());
    let seen: Record<string, string> = {};
    let process: { cmdline: string; start: string; session: string } | undefined;
    await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend), {
      force: true,
      hooks: {
        afterApplyBeforeConfirm: async () => {
          seen = await record(`${base}.timer`);
          const stat = fs.readFileSync(`/proc/${seen.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
          process = { cmdline: fs.readFileSync(`/proc/${seen.pid}/cmdline`, 'utf8').split('\0').join(' ').trim(), start: stat[19], session: stat[3] };
        },
      },
    });
    expect(seen.boot).toBe(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(seen.token).toMatch(/^\d+\.\d+$/);
    expect(seen.cmd).toBe(`sh ${base}.fire.sh ${base} 20 ${seen.token}`);
    expect(process).toEqual({ cmdline: seen.cmd, start: seen.start, session: seen.pid }); // alive, ours, detached
    expect(Number(seen.fires) - Number(seen.since)).toBe(20);
    // Disarmed by the confirm (a SIGTERM; under load its exit may trail the disarm's answer a little).
    for (let i = 0; i < 20 && isAlive(Number(seen.pid)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(Number(seen.pid))).toBe(false);
    expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
  }, 60_000);

  test("a timer that outlived its disarm never takes a later apply's record: it restores nothing", async () => {
    await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend));
    const { base } = await tableFiles(lab(), 'h1', table());
    // A stray timer: armed (2 s), its record then removed without stopping it.
    const session = await SshSession.open(labTarget(lab(), 'h1'), 'h1');
    let stray: ArmedTimer;
    try {
      stray = await armRollback(session, { stateDir: DEFAULT_STATE_DIR, table: table() }, 'true\n', 2);
    } finally {
      session.close();
    }
    await lab().exec('h1', ['rm', `${base}.timer`]);
    // An apply whose own timer is armed when the stray one wakes up: the confirm waits until the
    // stray has woken and ended (it ends only after it looked at the record), at most 10 s.
    const strayGone = () => !(stray.kind === 'job' && isAlive(stray.pid));
    const applied = await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_B(), backend), {
      hooks: {
        afterApplyBeforeConfirm: async () => {
          for (const started = Date.now(); !strayGone() && Date.now() - started < 10_000;) await new Promise((r) => setTimeout(r, 100));
        },
      },
    });
    expect(applied.changed).toBe(true);
    expect(stray.kind === 'job' && isAlive(stray.pid)).toBe(false);
    expect((await readHost(labTarget(lab(), 'h1'), 'h1', backend, table())).hash).toBe(rulesetOf(MODEL_B(), backend).hash); // not restored to A
    expect(await timerFiles(lab(), 'h1', table())).toEqual([]); // nothing fired
  }, 60_000);

  test('without setsid (and no systemd as PID 1) arming fails, saying so, and nothing changes', async () => {
    await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend));
    const before = await ownRules(lab(), 'h1', backend, table());
    await lab().exec('h1', ['mount', '--bind', '/dev/null', '/usr/bin/setsid']);
    try {
      const err = await rejection(applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_B(), backend)));
      expect(err.step).toBe('arm rollback timer');
      expect(err.message).toContain('cannot start the rollback timer: systemd is not running as PID 1 and setsid (util-linux) is not installed');
      expect(err.message).toContain('Nothing was changed');
    } finally {
      await lab().exec('h1', ['umount', '/usr/bin/setsid']);
    }
    expect(await ownRules(lab(), 'h1', backend, table())).toBe(before);
    expect(await stagedSets(lab(), 'h1', table())).toEqual([]);
    expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
    expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
  }, 60_000);

  test('an arm the client stops waiting for (its time bound) says the timer may hold the table; nothing changes and the next apply goes through', async () => {
    await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend));
    const before = await ownRules(lab(), 'h1', backend, table());
    // A setsid that takes 6 s to start anything: the arm outlasts the client's bound (nftables: the
    // 2.5 s command bound; iptables: the time a 3 s timer leaves), and the host's own bound ends the
    // command (and the sleeping setsid) before a timer starts.
    const dir = (await lab().exec('h1', ['mktemp', '-d'])).stdout.trim();
    await lab().exec('h1', ['cp', '/usr/bin/setsid', `${dir}/setsid.real`]);
    await lab().exec('h1', ['sh', '-c', `printf '#!/bin/sh\nsleep 6\nexec ${dir}/setsid.real "$@"\n' > ${dir}/setsid && chmod 755 ${dir}/setsid`]);
    await lab().exec('h1', ['mount', '--bind', `${dir}/setsid`, '/usr/bin/setsid']);
    let err;
    try {
      err = await rejection(applyHost(labTarget(lab(), 'h1', { commandTimeoutMs: 2500 }), rulesetOf(MODEL_B(), backend), { rollbackTimerSec: 3 }));
    } finally {
      // Busy until the host's bound has ended the sleeping setsid.
      for (let i = 0; (await lab().exec('h1', ['umount', '/usr/bin/setsid'], { check: false })).code !== 0; i++) {
        if (i === 50) throw new Error('setsid stays mounted: the host did not end the arm');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(err.step).toBe('arm rollback timer');
    expect(err.message).toMatch(/did not finish within \d+ ms/);
    expect(err.message).toContain('Nothing was changed: the new rules are only applied under a timer that is running; if the timer was armed before the command ended, it puts back these same rules within 3 s');
    expect(await ownRules(lab(), 'h1', backend, table())).toBe(before);
    expect(await stagedSets(lab(), 'h1', table())).toEqual([]);
    // No timer started (the host ended the command first): the next apply is not kept waiting.
    expect((await timerFiles(lab(), 'h1', table())).filter((f) => f === '.timer' || f === '.timer.pid')).toEqual([]);
    const again = await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_B(), backend));
    expect(again.changed).toBe(true);
    expect(await ownRules(lab(), 'h1', backend, table())).not.toBe(before);
    expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
    await lab().exec('h1', ['rm', '-r', dir]);
  }, 60_000);

  if (backend === 'nftables') {
    /**
     * Runs `body` while the host's nft hangs on the first transaction it is given (not on checks,
     * not on the restore after it); the hanging process writes its pid to the returned file.
     */
    async function withHungNft<T>(body: (pidFile: string) => Promise<T>): Promise<T> {
      const dir = (await lab().exec('h1', ['mktemp', '-d'])).stdout.trim();
      await lab().exec('h1', ['cp', '/usr/sbin/nft', `${dir}/nft.real`]);
      await lab().exec('h1', ['sh', '-c', `touch ${dir}/hang && printf '#!/bin/sh\\ncase " $* " in *" -c "*) ;; *" -f "*) if rm ${dir}/hang 2>/dev/null; then echo $$ > ${dir}/pid; sleep 30; fi;; esac\\nexec ${dir}/nft.real "$@"\\n' > ${dir}/nft && chmod 755 ${dir}/nft`]);
      await lab().exec('h1', ['mount', '--bind', `${dir}/nft`, '/usr/sbin/nft']);
      try {
        return await body(`${dir}/pid`);
      } finally {
        for (let i = 0; (await lab().exec('h1', ['umount', '/usr/sbin/nft'], { check: false })).code !== 0; i++) {
          if (i === 50) throw new Error('nft stays mounted');
          await new Promise((r) => setTimeout(r, 200));
        }
        const pid = (await lab().exec('h1', ['cat', `${dir}/pid`], { check: false })).stdout.trim();
        // Only the process this test started, by its pid (it is gone unless the test failed).
        if (/^\d+$/.test(pid)) await lab().exec('h1', ['kill', '-9', pid], { check: false });
        await lab().exec('h1', ['rm', '-r', dir]);
      }
    }

    /** The previous rules are back, the lock free, nothing left to fire; the next apply goes through. */
    async function expectRestoredAndFree(before: string): Promise<void> {
      expect(await ownRules(lab(), 'h1', backend, table())).toBe(before);
      expect(await lockIsFree(lab(), 'h1', table())).toBe(true);
      // The restore was the timer's own (now, not at its time): nothing is left to fire.
      const files = await timerFiles(lab(), 'h1', table());
      expect(files).not.toContain('.timer');
      expect(files).not.toContain('.snapshot');
      const again = await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_B(), backend));
      expect(again.changed).toBe(true);
    }

    test('a hung nft -f is ended by the host before the timer could restore beside it, and the previous rules are put back at once', async () => {
      await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend));
      const before = await ownRules(lab(), 'h1', backend, table());
      const err = await withHungNft(() => rejection(applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_B(), backend), { rollbackTimerSec: 5 })));
      expect(err.step).toBe('apply rules (nft -f)');
      expect(err.message).toContain('nft -f was ended by the host before the rollback timer fires (3 s)');
      expect(err.message).toContain('The previous rules were restored');
      await expectRestoredAndFree(before);
    }, 60_000);

    test("a hung nft -f that the session's own time bound ends (shorter than the timer) is ended with it, before the previous rules are put back", async () => {
      await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend));
      const before = await ownRules(lab(), 'h1', backend, table());
      const { err, alive } = await withHungNft(async (pidFile) => {
        const e = await rejection(applyHost(labTarget(lab(), 'h1', { commandTimeoutMs: 3000 }), rulesetOf(MODEL_B(), backend), { rollbackTimerSec: 20 }));
        const pid = (await lab().exec('h1', ['cat', pidFile])).stdout.trim();
        return { err: e, alive: (await lab().exec('h1', ['kill', '-0', pid], { check: false })).code === 0 };
      });
      expect(err.step).toBe('apply rules (nft -f)');
      expect(err.message).toContain('The previous rules were restored');
      expect(alive).toBe(false); // nft did not outlive the command (it could have committed after the restore)
      await expectRestoredAndFree(before);
    }, 60_000);
  }

  describe('acceptance: SIGKILL of netpol apply at each step', () => {
    let fileA: string;
    let fileB: string;
    const rules: Record<'old' | 'new', string> = { old: '', new: '' };

    beforeAll(async () => {
      fileA = writeModelFile(lab(), 'h1', MODEL_A(), backend);
      fileB = writeModelFile(lab(), 'h1', MODEL_B(), backend);
      expect((await runCli(['apply', fileB])).code).toBe(0);
      rules.new = await ownRules(lab(), 'h1', backend, table());
    }, 60_000);

    test.each([['after-arm' as const], ['after-apply' as const], ['during-confirm' as const]])('%s: the host ends with the old rules, no timer and no lock', async (step: TestOnlyPauseStep) => {
      expect((await runCli(['apply', fileA])).code).toBe(0);
      rules.old = await ownRules(lab(), 'h1', backend, table());
      expect(rules.old).not.toBe(rules.new);

      const cli = spawnCli(['apply', fileB, '--rollback-timer', String(TIMER_SEC)], { [TEST_ONLY_PAUSE_VARIABLE]: step });
      try {
        await cli.stderrMatching(new RegExp(`${TEST_ONLY_PAUSE_VARIABLE}: paused at ${step} on host h1`));
      } finally {
        cli.child.kill('SIGKILL');
      }
      expect(await cli.ended).toEqual({ code: null, signal: 'SIGKILL' });
      const killedAt = Date.now();
      expect(await ownRules(lab(), 'h1', backend, table())).toBe(step === 'after-arm' ? rules.old : rules.new);

      // The timer restores the old rules on its own, after its time. The wait is generous (a loaded
      // CI machine once took 11 s from the kill to the restore's end); that it waited the
      // configured time is read from its record and the host's clock below.
      let files = await timerFiles(lab(), 'h1', table());
      while (!(files.includes('.fired') && !files.includes('.timer') && !files.includes('.firing')) && Date.now() - killedAt < (TIMER_SEC + 40) * 1000) {
        await new Promise((r) => setTimeout(r, 250));
        files = await timerFiles(lab(), 'h1', table());
      }
      expect(files).toEqual(['.fire.sh', '.fired', '.fired.log', '.rollback.sh', '.timer.pid']);
      const { base } = await tableFiles(lab(), 'h1', table());
      const fired = await record(`${base}.fired`);
      // Armed with the --rollback-timer seconds (not the default 20), and fired no earlier.
      expect(Number(fired.fires) - Number(fired.since)).toBe(TIMER_SEC);
      const restoredAt = Number((await lab().exec('h1', ['stat', '-c', '%Y', `${base}.fired.log`])).stdout.trim());
      expect(restoredAt).toBeGreaterThanOrEqual(Number(fired.fires));
      expect(isAlive(Number(fired.pid))).toBe(false);
      expect((await lab().exec('h1', ['cat', `${base}.fired.log`])).stdout).toMatch(/exit 0\n$/);
      expect(await ownRules(lab(), 'h1', backend, table())).toBe(rules.old);
      expect(await stagedSets(lab(), 'h1', table())).toEqual([]);
      expect(await lockIsFree(lab(), 'h1', table())).toBe(true);

      // Nothing left in the way: the next apply goes through and is in sync.
      const again = await runCli(['apply', fileB, '--rollback-timer', String(TIMER_SEC)]);
      expect(again.err).toBe('');
      expect(again.code).toBe(0);
      expect(await ownRules(lab(), 'h1', backend, table())).toBe(rules.new);
      expect((await runCli(['status', fileB])).out).toBe('h1: in sync\n');
      expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
    }, 90_000);
  });

  describe('a stale timer record is reported and removed, never signalled', () => {
    let sleeper: number;

    beforeAll(() => {
      // An unrelated process in its own process group, as a real timer's would be.
      const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      child.unref();
      sleeper = child.pid ?? 0;
      expect(sleeper).toBeGreaterThan(0);
    });

    afterAll(() => {
      if (isAlive(sleeper)) process.kill(sleeper, 'SIGKILL');
    });

    const variants: Array<[string, string, (pid: number, base: string) => string]> = [
      ['an older record (only a pid)', 'an older record without boot id or process start time', (pid) => `${pid}\n`],
      ['a record from another boot', 'from another boot of the host', (pid, base) => `pid=${pid}\nstart=${startTime(pid)}\nboot=00000000-0000-4000-8000-000000000000\ncmd=sh ${base}.fire.sh ${base} 20\n`],
      ['a record whose pid is now another process (start time)', 'its pid is now another process, or gone', (pid, base) => `pid=${pid}\nstart=1\nboot=${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}\ncmd=sh ${base}.fire.sh ${base} 20\n`],
      ['a record whose pid is now another process (command line)', 'its pid is now another process, or gone', (pid) => `pid=${pid}\nstart=${startTime(pid)}\nboot=${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}\ncmd=sh /elsewhere.fire.sh /elsewhere 20\n`],
    ];

    test.each(variants)('%s: apply goes on and says so; destroy does not kill the process', async (_what, why, text) => {
      const { base } = await tableFiles(lab(), 'h1', table());
      const plant = () => lab().exec('h1', ['tee', `${base}.timer`], { stdin: text(sleeper, base) });
      await plant();
      const applied = await applyHost(labTarget(lab(), 'h1'), rulesetOf(MODEL_A(), backend), { force: true });
      expect(applied.changed).toBe(true);
      expect(applied.warnings).toContain(`h1: a stale rollback timer record of table ${table()} (pid ${sleeper}, ${why}) was removed; no process was signalled`);
      expect(isAlive(sleeper)).toBe(true);
      expect(await timerFiles(lab(), 'h1', table())).toEqual([]);

      await plant();
      const file = writeModelFile(lab(), 'h1', MODEL_A(), backend);
      const destroyed = await runCli(['destroy', file]);
      expect(destroyed.code).toBe(0);
      expect(destroyed.out).toContain('h1: removed\n  warning: h1: a stale rollback timer record');
      expect(isAlive(sleeper)).toBe(true);
      expect(await timerFiles(lab(), 'h1', table())).toEqual([]);
      expect(await ownRules(lab(), 'h1', backend, table())).toBe('(absent)');
    }, 60_000);
  });
});
