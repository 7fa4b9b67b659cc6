import { TWO_SSHD_LAB, labForSuite } from '../../lab/suite';
import { SshSession } from '../../../provider/targets/ssh/session';
import { batchScript, runBatch } from '../../../provider/targets/ssh/batch';
import { labTarget } from './support';

const lab = labForSuite(TWO_SSHD_LAB);

describe('runBatch: several commands, one round trip', () => {
  let session: SshSession;
  beforeAll(async () => { session = await SshSession.open(labTarget(lab(), 'h1'), 'h1'); });
  afterAll(() => session.close());

  test('each command reads exactly its own stdin (multi-byte text, an empty one, no final newline)', async () => {
    const dir = (await session.run('mktemp -d')).stdout.trim();
    const stdins = ['première ligne\nü\n', '', 'x'.repeat(70_000), 'no newline at the end'];
    const failure = await runBatch(session, stdins.map((stdin, i) => ({ step: `step ${i}`, command: `cat > ${dir}/${i}`, stdin })));
    expect(failure).toBeUndefined();
    for (const [i, want] of stdins.entries()) expect((await session.run(`cat ${dir}/${i}`)).stdout).toBe(want);
    await session.run(`rm -rf ${dir}`);
  });

  test('the first failing command stops the batch and is named, with its stderr; later ones never run', async () => {
    const dir = (await session.run('mktemp -d')).stdout.trim();
    const failure = await runBatch(session, [
      { step: 'first', command: `touch ${dir}/first` },
      { step: 'second', command: 'echo "second went wrong" >&2; exit 3' },
      { step: 'third', command: `touch ${dir}/third` },
    ]);
    expect(failure).toEqual({ step: 'second', cause: 'second went wrong' });
    expect((await session.run(`ls ${dir}`)).stdout.split('\n').filter(Boolean)).toEqual(['first']);
    await session.run(`rm -rf ${dir}`);
  });

  test('a command that ends the shell with exit ends only itself; one cut off by the time bound is named as cut once the host has ended it, and leaves no file', async () => {
    const files = async () => (await session.run('ls /tmp | grep -c "^netpol-batch\\." || true')).stdout.trim();
    const before = await files();
    expect(await runBatch(session, [{ step: 'a', command: 'exit 0' }, { step: 'b', command: 'cat >/dev/null', stdin: 'data' }])).toBeUndefined();
    const cut = await runBatch(session, [{ step: 'quick', command: 'true' }, { step: 'slow', command: 'sleep 30' }], { timeoutMs: 1000 });
    // The client's bound cuts the step the batch was in; the answer comes once the host's own bound
    // has ended the command (its temporary file already removed).
    expect(cut).toEqual({ step: 'slow', cause: 'the command did not finish within 1000 ms', cut: true });
    expect(await files()).toBe(before);
  });

  test('input that arrives incomplete (a connection dropped while sending) runs no step at all', async () => {
    const dir = (await session.run('mktemp -d')).stdout.trim();
    const steps = [{ step: 'first', command: `cat > ${dir}/first`, stdin: 'abc\n' }, { step: 'second', command: `cat > ${dir}/second`, stdin: 'restore script\n' }];
    // The script as runBatch sends it, with its input cut short.
    const r = await session.run(batchScript(steps), 'abc\nrestore');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the commands' input arrived incomplete (11 of 19 bytes)");
    expect((await session.run(`ls -A ${dir}`)).stdout).toBe('');
    await session.run(`rm -rf ${dir}`);
  });

  test('a batch that ends before a step reports its exit names that step as cut (it may or may not have done its work)', async () => {
    // TERM to the batch's own shell: its trap exits once the step's pipeline is over, before the step's exit is reported.
    const failure = await runBatch(session, [{ step: 'quick', command: 'true' }, { step: 'ends the batch', command: 'kill -TERM $$' }, { step: 'never', command: 'true' }]);
    expect(failure).toEqual({ step: 'ends the batch', cause: 'the batch ended with exit 143 before this step finished', cut: true });
  });
});
