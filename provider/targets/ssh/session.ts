/**
 * SSH sessions to hosts, on ssh2. Host keys are always verified unless a loudly named option turns
 * it off; commands are constant strings chosen by this project and data travels on stdin.
 */
import * as fs from 'fs';
import { Client, ClientChannel, ConnectConfig } from 'ssh2';
import type { Readable } from 'stream';
import { HostError, describeCause } from './host-error';
import { HostKeyPolicy, fingerprint, hostKeyPolicy } from './host-keys';

/** How to reach and log in to one host. */
export interface SshTarget {
  /** Address or DNS name. */
  host: string;
  /** @default 22 */
  port?: number;
  /** @default 'root' */
  user?: string;
  /** OpenSSH / PEM private key text (secret). */
  privateKey?: string;
  /** Path of a private key file on the machine running the provider. */
  privateKeyPath?: string;
  /** Passphrase of an encrypted private key (secret). */
  passphrase?: string;
  /** Use an SSH agent: a socket path, or true for $SSH_AUTH_SOCK (read when connecting). */
  agent?: boolean | string;
  /** Password authentication (secret). */
  password?: string;
  /** Expected host key: a `SHA256:...` fingerprint or an OpenSSH public key line. */
  hostKey?: string;
  /** An OpenSSH known_hosts file to verify the host key against. */
  knownHostsPath?: string;
  /** Accept any host key. Exposes the connection to a man in the middle. @default false */
  insecureSkipHostKeyVerification?: boolean;
  /** Run commands through `sudo -n` (password-less sudo for the user). @default false */
  sudo?: boolean;
  /** Reach the host through this jump host (TCP forwarding on the bastion). */
  bastion?: SshTarget;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** @default 60000 */
  commandTimeoutMs?: number;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Names the step in errors. @default 'command' */
  step?: string;
  timeoutMs?: number;
}

/** Generated names that may appear in command lines (tables, sets, chains). */
const IDENTIFIER = /^[a-z][a-z0-9_]{0,40}$/;

/** Throws unless `value` is a safe generated identifier; call before putting it in a command. */
export function assertIdentifier(value: string, what: string): string {
  if (!IDENTIFIER.test(value)) throw new Error(`${what} "${value}" is not a valid generated name (${IDENTIFIER})`);
  return value;
}

/** Single-quotes a constant for sh. */
export function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `user@host:port` (and `via bastion`), for messages. */
export function describeTarget(target: SshTarget): string {
  const base = `${target.user ?? 'root'}@${target.host}:${target.port ?? 22}`;
  return target.bastion ? `${base} via ${describeTarget(target.bastion)}` : base;
}

function secretsOf(target: SshTarget): string[] {
  const own = [target.privateKey, target.passphrase, target.password].filter((s): s is string => typeof s === 'string');
  return target.bastion ? [...own, ...secretsOf(target.bastion)] : own;
}

/**
 * Sees every SSH session opened and every command started, for benchmarks and tests that count
 * round trips (a no-op apply must be one session and one read per host). Never sees stdin.
 */
export interface SshObserver {
  sessionOpened?(host: string): void;
  commandStarted?(host: string, step: string, command: string): void;
}

const observers = new Set<SshObserver>();

/** Registers an observer; returns the function that removes it. */
export function observeSsh(observer: SshObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** An open, authenticated SSH connection to one host. */
export class SshSession {
  private closed = false;

  private constructor(
    readonly target: SshTarget,
    /** The host's name for messages. */
    readonly name: string,
    private readonly client: Client,
    private readonly bastion: SshSession | undefined,
  ) {
    client.on('close', () => (this.closed = true));
  }

  /** Connects (through the bastion, if any), verifies the host key and authenticates. */
  static async open(target: SshTarget, name: string = target.host): Promise<SshSession> {
    let bastion: SshSession | undefined;
    let sock: Readable | undefined;
    if (target.bastion) {
      bastion = await SshSession.open(target.bastion, `${target.bastion.host} (bastion for ${name})`);
      try {
        sock = await bastion.forwardTo(target.host, target.port ?? 22, name);
      } catch (err) {
        bastion.close();
        throw err;
      }
    }
    try {
      const client = await connectClient(target, name, sock);
      observers.forEach((o) => o.sessionOpened?.(name));
      return new SshSession(target, name, client, bastion);
    } catch (err) {
      bastion?.close();
      throw err;
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private forwardTo(host: string, port: number, forName: string): Promise<Readable> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) {
          reject(
            new HostError({
              host: forName,
              step: 'connect through bastion',
              cause: `${this.name} could not open a connection to ${host}:${port}: ${err.message}`,
              hint: 'Check that the bastion allows TCP forwarding (AllowTcpForwarding) and can reach the host',
            }),
          );
        } else {
          resolve(stream);
        }
      });
    });
  }

  /**
   * Runs a constant command (with `sudo -n` when configured); `stdin` carries the data.
   * Resolves with the exit code and output whatever the exit code; rejects on transport errors and timeouts.
   */
  run(command: string, stdin?: string, options: RunOptions = {}): Promise<CommandResult> {
    const step = options.step ?? 'command';
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs ?? 60_000;
    // sbin is not on every user's PATH (nft, iptables, ipset live there).
    const script = `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH\n${command}`;
    const line = this.target.sudo ? `sudo -n sh -c ${shQuote(script)}` : script;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new HostError({ host: this.name, step, cause: 'the SSH connection is closed' }));
        return;
      }
      observers.forEach((o) => o.commandStarted?.(this.name, step, command));
      let channel: ClientChannel | undefined;
      let settled = false;
      const finish = (err: HostError | undefined, result?: CommandResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else if (result) resolve(result);
      };
      const timer = setTimeout(() => {
        channel?.close();
        finish(
          new HostError({
            host: this.name,
            step,
            cause: `the command did not finish within ${timeoutMs} ms`,
            hint: 'Check the host (load, a hung nft/iptables lock) or raise commandTimeoutMs',
          }),
        );
      }, timeoutMs);
      this.client.exec(line, (err, ch) => {
        if (err) {
          finish(new HostError({ host: this.name, step, cause: `cannot start the command: ${err.message}` }));
          return;
        }
        channel = ch;
        let stdout = '';
        let stderr = '';
        let code: number | undefined;
        ch.on('data', (d: Buffer) => (stdout += d.toString()));
        ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        ch.on('exit', (c: number | null, signal?: string) => {
          code = typeof c === 'number' ? c : -1;
          if (signal) stderr += `\n(killed by signal ${signal})`;
        });
        ch.on('close', () => {
          if (this.target.sudo && code === 1 && /sudo: a (terminal|password) is required/.test(stderr)) {
            finish(
              new HostError({
                host: this.name,
                step,
                cause: 'sudo asked for a password',
                hint: `Allow password-less sudo for ${this.target.user ?? 'root'} (NOPASSWD) or log in as root`,
              }),
            );
            return;
          }
          finish(undefined, { code: code ?? -1, stdout, stderr });
        });
        ch.end(stdin ?? '');
      });
    });
  }

  close(): void {
    if (!this.closed) this.client.end();
    this.closed = true;
    this.bastion?.close();
  }
}

function loadPrivateKey(target: SshTarget, name: string): string | undefined {
  if (target.privateKey) return target.privateKey;
  if (!target.privateKeyPath) return undefined;
  try {
    return fs.readFileSync(target.privateKeyPath, 'utf8');
  } catch (err) {
    throw new HostError({
      host: name,
      step: 'read private key',
      cause: `cannot read ${target.privateKeyPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    });
  }
}

function agentSocket(target: SshTarget, name: string): string | undefined {
  if (target.agent === undefined || target.agent === false) return undefined;
  if (typeof target.agent === 'string') return target.agent;
  const sock = process.env.SSH_AUTH_SOCK;
  if (!sock) {
    throw new HostError({ host: name, step: 'connect', cause: 'agent: true but SSH_AUTH_SOCK is not set', hint: 'Start ssh-agent or give the socket path' });
  }
  return sock;
}

function connectClient(target: SshTarget, name: string, sock?: Readable): Promise<Client> {
  const port = target.port ?? 22;
  const timeoutMs = target.connectTimeoutMs ?? 10_000;
  const secrets = secretsOf(target);
  let policy: HostKeyPolicy;
  try {
    policy = hostKeyPolicy(target, target.host, port);
  } catch (err) {
    return Promise.reject(new HostError({ host: name, step: 'host key verification', cause: describeCause(err, secrets) }));
  }
  const privateKey = loadPrivateKey(target, name);
  const agent = agentSocket(target, name);
  if (!privateKey && !agent && target.password === undefined) {
    return Promise.reject(
      new HostError({ host: name, step: 'connect', cause: 'no credentials', hint: 'Set privateKey, privateKeyPath, agent or password' }),
    );
  }
  let presented: string | undefined;
  const config: ConnectConfig = {
    host: target.host,
    port,
    username: target.user ?? 'root',
    readyTimeout: timeoutMs,
    privateKey,
    passphrase: target.passphrase,
    agent,
    password: target.password,
    sock,
    hostVerifier: (key: Buffer): boolean => {
      presented = fingerprint(key);
      if (policy.insecure) return true;
      return policy.expected.includes(presented) && !policy.revoked.includes(presented);
    },
  };
  if (policy.algorithms) config.algorithms = { serverHostKey: policy.algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };

  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    const fail = (step: string, cause: string, hint?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      reject(new HostError({ host: name, step, cause, hint }));
    };
    // ssh2's readyTimeout does not cover every stall (e.g. a SYN that is dropped); this does.
    const timer = setTimeout(
      () => fail('connect', `no SSH session with ${describeTarget(target)} within ${timeoutMs} ms`, 'Check that the host is up, sshd runs and port ' + port + ' is reachable'),
      timeoutMs + 500,
    );
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (presented !== undefined && !policy.insecure && (!policy.expected.includes(presented) || policy.revoked.includes(presented))) {
        fail(
          'host key verification',
          `${describeTarget(target)} presented host key ${presented}` +
            (policy.revoked.includes(presented) ? ', which is revoked' : `, expected ${policy.expected.join(' or ')} (${policy.source})`),
          'Nothing was run on the host. If the host was reinstalled, update the pinned key; otherwise someone may be intercepting the connection',
        );
        return;
      }
      const cause = describeCause(err, secrets);
      if (err.level === 'client-authentication') {
        fail('authentication', `${describeTarget(target)}: ${cause}`, 'Check the user, key, agent or password');
      } else if (err.code === 'ECONNREFUSED') {
        fail('connect', `${describeTarget(target)}: connection refused`, 'Is sshd running on the host?');
      } else if (/Timed out while waiting for handshake/.test(cause)) {
        fail('connect', `no SSH handshake with ${describeTarget(target)} within ${timeoutMs} ms`, 'Check that the host is up and port ' + port + ' is reachable');
      } else {
        fail('connect', `${describeTarget(target)}: ${cause}`);
      }
    });
    client.on('close', () => fail('connect', `${describeTarget(target)} closed the connection during setup`));
    try {
      client.connect(config);
    } catch (err) {
      fail('connect', describeCause(err, secrets), 'Check the private key format and passphrase');
    }
  });
}

/** Opens a session, runs one command, closes. */
export async function runOnHost(target: SshTarget, command: string, stdin?: string, options: RunOptions & { name?: string } = {}): Promise<CommandResult> {
  const session = await SshSession.open(target, options.name ?? target.host);
  try {
    return await session.run(command, stdin, options);
  } finally {
    session.close();
  }
}

/** Opens a session, runs `fn` with it, always closes it. */
export async function withSession<R>(target: SshTarget, name: string, fn: (session: SshSession) => Promise<R>): Promise<R> {
  const session = await SshSession.open(target, name);
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}
