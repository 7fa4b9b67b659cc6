/**
 * How to reach and log in to one host over SSH, on ssh2. Host keys are always verified unless a
 * loudly named option turns it off; credentials are a key (text or file), an agent or a password.
 */
import * as fs from 'fs';
import { Client, ConnectConfig } from 'ssh2';
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
  /** known_hosts text: every key it lists for the host is accepted, a `@revoked` one never. */
  knownHosts?: string;
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
  /**
   * How often to send an SSH keepalive; after KEEPALIVE_COUNT_MAX unanswered ones the connection
   * is closed, so a host that went silent (powered off, its link cut) ends a long-lived session
   * such as watch's event stream instead of leaving it hanging. 0 disables. @default 15000
   */
  keepaliveIntervalMs?: number;
}

/** Unanswered keepalives before the connection counts as dead (ssh2's keepaliveCountMax). */
export const KEEPALIVE_COUNT_MAX = 3;
export const DEFAULT_KEEPALIVE_MS = 15_000;

/** `user@host:port` (and `via bastion`), for messages. */
export function describeTarget(target: SshTarget): string {
  const base = `${target.user ?? 'root'}@${target.host}:${target.port ?? 22}`;
  return target.bastion ? `${base} via ${describeTarget(target.bastion)}` : base;
}

function secretsOf(target: SshTarget): string[] {
  const own = [target.privateKey, target.passphrase, target.password].filter((s): s is string => typeof s === 'string');
  return target.bastion ? [...own, ...secretsOf(target.bastion)] : own;
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

/**
 * Opens an authenticated ssh2 client to `target` (over `sock` when a bastion forwards it), after
 * verifying the host key. Rejects with a HostError that names the step and what to check; secrets
 * never appear in it.
 */
export function connectClient(target: SshTarget, name: string, sock?: Readable): Promise<Client> {
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
    keepaliveInterval: target.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
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
