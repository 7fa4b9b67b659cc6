import { TWO_SSHD_LAB, labForSuite } from '../../lab/suite';
import { sessionChains } from '../../lab/sshd';
import { SshSession } from '../../../provider/targets/ssh/session';
import { labTarget } from './support';
import { hostTargets } from '../../../provider/cli/ssh-settings';
import { parseModel } from '../../../provider/model/model';

const lab = labForSuite(TWO_SSHD_LAB);

/** The sshd processes serving the one connection whose command line is `marker` (test/lab/sshd.ts). */
function sshdChainOf(host: string, marker: string): number[] {
  const [chain] = sessionChains(lab().sshdPid(host), (cmdline) => cmdline === marker);
  if (!chain) throw new Error(`no connection running "${marker}" under ${host}'s sshd`);
  return chain;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SSH keepalive', () => {
  test('a host that stops answering ends a follow() within a few keepalive intervals', async () => {
    const session = await SshSession.open(labTarget(lab(), 'h1', { keepaliveIntervalMs: 300 }), 'h1');
    const marker = 'sleep 931';
    const stream = await session.follow(marker, () => undefined);
    let chain: number[] = [];
    await until('the command to start', () => {
      try { chain = sshdChainOf('h1', marker); return chain.length > 0; } catch { return false; }
    });
    // The host goes silent without closing anything: TCP stays up, sshd answers nothing.
    for (const pid of chain) process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stream.ended.then(() => 'ended'),
        new Promise<string>((r) => { timer = setTimeout(() => r('still hanging'), 8000); }),
      ]);
      clearTimeout(timer);
      expect(outcome).toBe('ended');
      // Three unanswered keepalives at 300 ms: about a second, far below the 8 s bound above.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(session.isOpen).toBe(false);
    } finally {
      for (const pid of chain) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      session.close();
    }
  }, 30_000);

  test('a quiet but live host keeps the connection: keepalives are answered', async () => {
    const session = await SshSession.open(labTarget(lab(), 'h1', { keepaliveIntervalMs: 200 }), 'h1');
    try {
      const lines: string[] = [];
      // Silent for 2 s (ten intervals), then prints: the stream must still be there to carry it.
      const stream = await session.follow('sleep 2; echo still-here', (l) => lines.push(l));
      const result = await stream.ended;
      expect(lines).toEqual(['still-here']);
      expect(result.code).toBe(0);
      expect(session.isOpen).toBe(true);
    } finally {
      session.close();
    }
  }, 30_000);
});

describe('keepaliveIntervalMs in the model', () => {
  const model = (ssh: Record<string, unknown>): unknown => ({
    endpoints: [],
    hosts: [{ name: 'h1', ssh: { host: '127.0.0.1', user: 'root', privateKeyPath: 'id', hostKey: `SHA256:${'A'.repeat(43)}`, ...ssh } }],
  });

  test('reaches the SSH target', () => {
    const [h] = hostTargets(parseModel(model({ keepaliveIntervalMs: 5000 })), '/tmp/model.yaml', '/tmp', {});
    expect(h.target.keepaliveIntervalMs).toBe(5000);
  });

  test('a negative interval is refused, naming the property', () => {
    expect(() => parseModel(model({ keepaliveIntervalMs: -1 }))).toThrow(/hosts\[0\]\.ssh\.keepaliveIntervalMs/);
  });
});
