import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TWO_SSHD_LAB, labForSuite } from '../../lab/suite';
import { lookupKnownHosts } from '../../../provider/targets/ssh/host-keys';
import { runOnHost } from '../../../provider/targets/ssh/session';
import { labTarget, rejection } from './support';

const lab = labForSuite(TWO_SSHD_LAB);

describe('host key verification', () => {
  test('pinned fingerprint: runs the command, data on stdin', async () => {
    const r = await runOnHost(labTarget(lab(), 'h1'), 'cat; id -u', 'hello\n');
    expect(r).toEqual({ code: 0, stdout: 'hello\n0\n', stderr: '' });
  });

  test('pinned public key line', async () => {
    const r = await runOnHost(labTarget(lab(), 'h1', { hostKey: lab().hostSsh('h1').hostKeyLine }), 'echo ok');
    expect(r.stdout).toBe('ok\n');
  });

  test('a wrong pinned key is refused before any command runs', async () => {
    const marker = `/tmp/netpol-marker-${crypto.randomBytes(4).toString('hex')}`;
    const wrong = lab().hostSsh('h2').hostKey; // h2's key, presented by h1 → mismatch
    const err = await rejection(runOnHost(labTarget(lab(), 'h1', { hostKey: wrong }), `touch ${marker}`));
    expect(err.step).toBe('host key verification');
    expect(err.message).toContain(lab().hostSsh('h1').host);
    expect(err.message).toContain(wrong);
    expect(err.message).toContain(lab().hostSsh('h1').hostKey);
    expect(fs.existsSync(marker)).toBe(false);
    // The same command with the right key does run: the marker proves the check above is meaningful.
    await runOnHost(labTarget(lab(), 'h1'), `touch ${marker}`);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
  });

  test('no pin and no known_hosts is refused; the insecure option is explicit', async () => {
    const err = await rejection(runOnHost(labTarget(lab(), 'h1', { hostKey: undefined }), 'true'));
    expect(err.message).toMatch(/no host key to verify against/);
    const r = await runOnHost(labTarget(lab(), 'h1', { hostKey: undefined, insecureSkipHostKeyVerification: true }), 'echo ok');
    expect(r.stdout).toBe('ok\n');
  });

  test('known_hosts: plain, hashed and [host]:port entries', async () => {
    const dir = fs.mkdtempSync('/tmp/netpol-kh-');
    try {
      const h1 = lab().hostSsh('h1');
      const h2 = lab().hostSsh('h2');
      const plain = lab().writeKnownHosts(path.join(dir, 'plain'), ['h1']);
      expect((await runOnHost(labTarget(lab(), 'h1', { hostKey: undefined, knownHostsPath: plain }), 'echo ok')).stdout).toBe('ok\n');
      // h2 is not listed → refused
      const missing = await rejection(runOnHost(labTarget(lab(), 'h2', { hostKey: undefined, knownHostsPath: plain }), 'true'));
      expect(missing.message).toContain('has no entry for');

      const salt = crypto.randomBytes(20);
      const mac = crypto.createHmac('sha1', salt).update(h2.host).digest('base64');
      const hashed = path.join(dir, 'hashed');
      fs.writeFileSync(hashed, `# comment\n|1|${salt.toString('base64')}|${mac} ${h2.hostKeyLine}\n`);
      expect((await runOnHost(labTarget(lab(), 'h2', { hostKey: undefined, knownHostsPath: hashed }), 'echo ok')).stdout).toBe('ok\n');

      // A known_hosts entry with the wrong key for the host → refused
      const wrong = path.join(dir, 'wrong');
      fs.writeFileSync(wrong, `${h1.host} ${h2.hostKeyLine}\n`);
      const err = await rejection(runOnHost(labTarget(lab(), 'h1', { hostKey: undefined, knownHostsPath: wrong }), 'true'));
      expect(err.step).toBe('host key verification');

      const portForm = lookupKnownHosts(`[${h1.host}]:2222 ${h1.hostKeyLine}\n`, h1.host, 2222);
      expect(portForm.keys).toHaveLength(1);
      expect(lookupKnownHosts(`[${h1.host}]:2222 ${h1.hostKeyLine}\n`, h1.host, 22).keys).toHaveLength(0);
      expect(lookupKnownHosts(`10.231.*,!${h1.host} ${h1.hostKeyLine}\n`, h1.host, 22).keys).toHaveLength(0);
      expect(lookupKnownHosts(`@revoked * ${h1.hostKeyLine}\n`, h1.host, 22).revoked).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('authentication and privilege', () => {
  test('password authentication (non-root user), password never in errors', async () => {
    const login = lab().loginUser;
    const ok = await runOnHost(labTarget(lab(), 'h1', { user: login.user, privateKey: undefined, password: login.password }), 'id -un');
    expect(ok.stdout).toBe(`${login.user}\n`);
    const bad = `${login.password}-wrong`;
    const err = await rejection(runOnHost(labTarget(lab(), 'h1', { user: login.user, privateKey: undefined, password: bad }), 'true'));
    expect(err.step).toBe('authentication');
    expect(err.message).not.toContain(bad);
  });

  test('sudo: commands run as root through sudo -n', async () => {
    const login = lab().loginUser;
    const plain = await runOnHost(labTarget(lab(), 'h1', { user: login.user }), 'id -u');
    expect(plain.stdout).not.toBe('0\n');
    const sudo = await runOnHost(labTarget(lab(), 'h1', { user: login.user, sudo: true }), "id -u; echo 'quoted $HOME'", '');
    expect(sudo.stdout).toBe('0\nquoted $HOME\n');
    const nft = await runOnHost(labTarget(lab(), 'h1', { user: login.user, sudo: true }), 'nft list tables');
    expect(nft.code).toBe(0);
  });

  test('encrypted key with passphrase; the passphrase never appears in errors', async () => {
    const dir = fs.mkdtempSync('/tmp/netpol-key-');
    try {
      const file = path.join(dir, 'k');
      const { execFileSync } = await import('child_process');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', file]);
      // authorise it by appending to the lab's authorized_keys
      fs.appendFileSync(path.join(lab().dir, 'authorized_keys'), fs.readFileSync(`${file}.pub`, 'utf8'));
      const ok = await runOnHost(labTarget(lab(), 'h1', { privateKey: undefined, privateKeyPath: file, passphrase: 'correct horse' }), 'echo ok');
      expect(ok.stdout).toBe('ok\n');
      const err = await rejection(runOnHost(labTarget(lab(), 'h1', { privateKey: undefined, privateKeyPath: file, passphrase: 'battery staple' }), 'true'));
      expect(err.message).not.toContain('battery staple');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('ssh-agent: a socket path, or true for SSH_AUTH_SOCK read at call time', async () => {
    const { execFileSync, spawn } = await import('child_process');
    const dir = fs.mkdtempSync('/tmp/netpol-agent-');
    const sock = path.join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', ['-q', lab().clientKey.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const viaPath = await runOnHost(labTarget(lab(), 'h1', { privateKey: undefined, agent: sock }), 'echo ok');
      expect(viaPath.stdout).toBe('ok\n');
      const saved = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = sock;
      try {
        expect((await runOnHost(labTarget(lab(), 'h1', { privateKey: undefined, agent: true }), 'echo ok')).stdout).toBe('ok\n');
        delete process.env.SSH_AUTH_SOCK;
        const err = await rejection(runOnHost(labTarget(lab(), 'h1', { privateKey: undefined, agent: true }), 'true'));
        expect(err.message).toContain('SSH_AUTH_SOCK is not set');
      } finally {
        if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = saved;
      }
    } finally {
      agent.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('transport', () => {
  test('bastion: reaches h2 through h1 (h2 sees the connection from h1)', async () => {
    const target = labTarget(lab(), 'h2', { bastion: labTarget(lab(), 'h1') });
    const r = await runOnHost(target, 'echo "$SSH_CONNECTION"');
    expect(r.stdout.split(' ')[0]).toBe(lab().host('h1').transitV4);
    const direct = await runOnHost(labTarget(lab(), 'h2'), 'echo "$SSH_CONNECTION"');
    expect(direct.stdout.split(' ')[0]).not.toBe(lab().host('h1').transitV4);
  });

  test('host down: the error names the host and says what to check', async () => {
    await lab().stopSshd('h2');
    try {
      const err = await rejection(runOnHost(labTarget(lab(), 'h2'), 'true', undefined, { name: 'h2' }));
      expect(err.message).toMatch(/^host h2: connect failed: .*connection refused/);
    } finally {
      await lab().startSshd('h2');
    }
  });

  test.each([[false], [true]])('a remote command that outlives the client\'s timeout is gone on the host when the error comes (sudo: %s)', async (sudo) => {
    // A sleep of a length no other process has, so that finding it means finding this one.
    const seconds = `300.${process.pid}${Date.now() % 1000}`;
    const target = sudo ? labTarget(lab(), 'h1', { user: lab().loginUser.user, sudo: true, commandTimeoutMs: 1000 }) : labTarget(lab(), 'h1', { commandTimeoutMs: 1000 });
    const err = await rejection(runOnHost(target, `sleep ${seconds}`, undefined, { name: 'h1', step: 'slow step' }));
    expect(err.message).toContain('the command did not finish within 1000 ms');
    const running = async (): Promise<boolean> => (await lab().exec('h1', ['pgrep', '-f', `^sleep ${seconds}$`], { check: false })).code === 0;
    // The error comes only once the host's own bound has ended the command (a caller may act on it
    // at once: restore, release the lock), and it says the command was cut off.
    expect(await running()).toBe(false);
    expect(err.cutOff).toBe(true);
  });

  test('command timeout gives a clear error', async () => {
    const err = await rejection(runOnHost(labTarget(lab(), 'h1', { commandTimeoutMs: 300 }), 'sleep 5', undefined, { name: 'h1', step: 'slow step' }));
    expect(err.message).toBe(
      'host h1: slow step failed: the command did not finish within 300 ms. Check the host (load, a hung nft/iptables lock) or raise commandTimeoutMs',
    );
  });
});

describe('bounded output', () => {
  test('a command that prints more than maxOutputBytes fails the step, saying so; under the limit it is read whole', async () => {
    const err = await rejection(runOnHost(labTarget(lab(), 'h1'), 'head -c 3000000 /dev/zero', undefined, { step: 'read table', maxOutputBytes: 1024 * 1024 }));
    expect(err.step).toBe('read table');
    expect(err.message).toContain('the command printed more than 1 MiB');
    const ok = await runOnHost(labTarget(lab(), 'h1'), 'head -c 500000 /dev/zero; head -c 500000 /dev/zero >&2', undefined, { maxOutputBytes: 1024 * 1024 });
    expect(ok.stdout.length + ok.stderr.length).toBe(1_000_000);
  });
});
