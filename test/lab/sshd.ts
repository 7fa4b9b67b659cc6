/**
 * One OpenSSH server per lab host. Each host gets a private mount namespace (held by an "anchor"
 * process) in which lab files are bind-mounted over /etc/passwd, /etc/shadow and /etc/sudoers (a
 * non-root login user with a known password and password-less sudo) and over the targets' state
 * directory (/var/lib/pulumi-netpolicy), so hosts that share this machine's disk keep separate state.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { run, sleep } from './run';

export const STATE_DIR = '/var/lib/pulumi-netpolicy';
export const LOGIN_USER = 'nplab';
const LOGIN_UID = 64231;

export interface KeyPair {
  privateKeyPath: string;
  privateKey: string;
  publicKeyLine: string;
  fingerprint: string;
}

/** `SHA256:<base64, unpadded>` of an OpenSSH public key line, as `ssh-keygen -l` prints it. */
export function fingerprintOfLine(line: string): string {
  const blob = Buffer.from(line.trim().split(/\s+/)[1], 'base64');
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export async function generateKey(file: string, passphrase = ''): Promise<KeyPair> {
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', 'netpol-lab', '-f', file]);
  const publicKeyLine = fs.readFileSync(`${file}.pub`, 'utf8').trim();
  return {
    privateKeyPath: file,
    privateKey: fs.readFileSync(file, 'utf8'),
    publicKeyLine,
    fingerprint: fingerprintOfLine(publicKeyLine),
  };
}

/** Writes the overlay files shared by all hosts of a lab: passwd, shadow, sudoers, authorized_keys. */
export async function writeLoginFiles(dir: string, clientKeys: readonly KeyPair[], password: string): Promise<void> {
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  fs.chownSync(home, LOGIN_UID, LOGIN_UID);
  const hash = (await run(['openssl', 'passwd', '-6', '-stdin'], { stdin: `${password}\n` })).stdout.trim();
  const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l && !l.startsWith(`${LOGIN_USER}:`));
  passwd.push(`${LOGIN_USER}:x:${LOGIN_UID}:${LOGIN_UID}:netpol lab:${home}:/bin/sh`);
  fs.writeFileSync(path.join(dir, 'passwd'), passwd.join('\n') + '\n', { mode: 0o644 });
  const shadow = fs.readFileSync('/etc/shadow', 'utf8').split('\n').filter((l) => l && !l.startsWith(`${LOGIN_USER}:`));
  shadow.push(`${LOGIN_USER}:${hash}:19000:0:99999:7:::`);
  fs.writeFileSync(path.join(dir, 'shadow'), shadow.join('\n') + '\n', { mode: 0o640 });
  fs.writeFileSync(path.join(dir, 'sudoers'), `Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nroot ALL=(ALL:ALL) ALL\n${LOGIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, {
    mode: 0o440,
  });
  fs.writeFileSync(path.join(dir, 'authorized_keys'), clientKeys.map((k) => k.publicKeyLine).join('\n') + '\n', {
    mode: 0o644,
  });
}

export function writeSshdConfig(file: string, opts: { listen: string; hostKeyPath: string; loginDir: string }): void {
  fs.writeFileSync(
    file,
    [
      'Port 22',
      `ListenAddress ${opts.listen}`,
      `HostKey ${opts.hostKeyPath}`,
      'PidFile none',
      `AuthorizedKeysFile ${path.join(opts.loginDir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'UseDNS no',
      'MaxStartups 200',
      'MaxSessions 64',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
}

/**
 * Starts the process that holds a host's mount namespace: inside `ip netns exec <netns>`, bind-mounts
 * the overlays (and hides root's ~/.bashrc) and then sleeps forever. Returns its pid once the mounts are in place.
 */
/** `stateDir` undefined: the host shares this machine's state folder (see LabSpec.sharedFilesystem). */
/**
 * `dockerSocket`: the host runs its own dockerd (docker.ts); the host gets a /run of its own in
 * which /run/docker.sock leads to that daemon's socket, so `docker` on the host (over SSH, with or
 * without sudo) finds its daemon where a Docker host has it.
 */
export async function startAnchor(netns: string, loginDir: string, stateDir: string | undefined, logFile: string, dockerSocket?: string): Promise<number> {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const script = [
    'set -e',
    'mount --bind "$1/passwd" /etc/passwd',
    'mount --bind "$1/shadow" /etc/shadow',
    'if [ -e /etc/sudoers ]; then mount --bind "$1/sudoers" /etc/sudoers; fi',
    'if [ -n "$2" ]; then mount --bind "$2" ' + STATE_DIR + '; fi',
    // A lab host is a fresh machine: the test machine's root shell setup (e.g. a pyenv init in
    // ~/.bashrc, ~0.2 s of CPU that bash spends on every command sshd runs) stays outside it.
    'if [ -s /root/.bashrc ]; then mount --bind /dev/null /root/.bashrc; fi',
    'if [ -n "$3" ]; then mount -t tmpfs -o mode=0755 netpol-lab-run /run; mkdir -p /run/sshd; ln -s "$3" /run/docker.sock; fi',
    'echo ready',
    'exec sleep 2147483647',
  ].join('\n');
  const log = fs.openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', netns, 'sh', '-c', script, 'anchor', loginDir, stateDir ?? '', dockerSocket ?? ''], {
    stdio: ['ignore', 'pipe', log],
    detached: true,
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`lab: cannot start the anchor process for ${netns}`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab: anchor for ${netns} not ready in 10 s (see ${logFile})`)), 10_000);
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab: anchor for ${netns} exited with ${code} (see ${logFile})`));
    });
  });
  child.stdout?.destroy();
  child.unref();
  return pid;
}

/** Runs argv inside the host's network and mount namespaces (those of its anchor process). */
export function inHost(anchorPid: number, argv: readonly string[]): string[] {
  return ['nsenter', '-t', String(anchorPid), '-m', '-n', '--', ...argv];
}

/** Starts sshd in the foreground (-D) inside the host namespaces; resolves when it accepts connections. */
export async function startSshd(anchorPid: number, configFile: string, logFile: string, address: string): Promise<number> {
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const log = fs.openSync(logFile, 'a');
  const argv = inHost(anchorPid, ['/usr/sbin/sshd', '-D', '-e', '-f', configFile]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('lab: cannot start sshd');
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`lab: sshd exited with ${exited}; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (await sshBanner(address)) return pid;
    await sleep(25);
  }
  throw new Error(`lab: sshd on ${address} did not answer within 10 s; log: ${logFile}`);
}

/** True when something on address:22 sends an SSH banner. */
export function sshBanner(address: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port: 22 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString().startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}

/** The parent pid in /proc/<pid>/stat (0 once the process is gone). */
function parentOf(pid: number): number {
  try {
    return Number(/^\d+ \(.*\) \S (\d+)/s.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The processes serving the SSH sessions of a lab sshd that run a command `matches` accepts (its
 * command line, arguments joined by spaces): per such command, the chain between the listening
 * sshd `listener` and the command, the listener's child first and the command's parent last.
 * Only descendants of that sshd are ever returned, so a test stops or kills nothing of others.
 */
export function sessionChains(listener: number, matches: (cmdline: string) => boolean): number[][] {
  const chains: number[][] = [];
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let cmdline: string;
    try { cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { continue; }
    if (!matches(cmdline)) continue;
    const chain: number[] = [];
    for (let up = parentOf(Number(entry)); up > 1; up = parentOf(up)) {
      if (up === listener) { chains.push(chain.reverse()); break; }
      chain.push(up);
    }
  }
  return chains;
}
