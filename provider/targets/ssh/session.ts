/**
 * SSH sessions to hosts, on ssh2: run a command, forward to a host behind a bastion, close.
 * Commands are constant strings chosen by this project (generated names checked, constants
 * quoted here) and data travels on stdin. Connecting and logging in is connect.ts.
 */
import type { Client, ClientChannel } from 'ssh2';
import type { Readable } from 'stream';
import { SshTarget, connectClient } from './connect';
import { HostError } from './host-error';
import { mebibytes } from '../../model/text-limits';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Names the step in errors. @default 'command' */
  step?: string;
  timeoutMs?: number;
  /** Most a command may print (stdout and stderr together); more fails the step. @default 64 MiB */
  maxOutputBytes?: number;
  /** When the time bound cuts the command: the step to name, from what it printed so far (a batch: the step it was in). */
  stepAt?: (stdout: string) => string;
}

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** What hold() resolves with: the command is running and ready, or it exited first. */
export type HoldResult =
  | { ready: true; output: string; release: () => Promise<void> }
  | { ready: false; result: CommandResult };

/** What follow() resolves with once the command runs. */
export interface FollowHandle {
  ended: Promise<CommandResult>;
  stop: () => void;
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

/**
 * Sees every SSH session opened and every command started, for benchmarks and tests that count
 * round trips (a no-op apply must be one session and one read per host). Never sees stdin.
 */
export interface SshObserver {
  sessionOpened?(host: string): void;
  commandStarted?(host: string, step: string, command: string): void;
  /** What run() sent for one command (its text and stdin) and how many bytes of output came back. */
  ran?(host: string, step: string, sent: { command: string; stdin: string }, receivedBytes: number): void;
}

const observers = new Set<SshObserver>();

/** Registers an observer; returns the function that removes it. */
export function observeSsh(observer: SshObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** An open, authenticated SSH connection to one host. */
/** What a command has printed so far, and its exit code once it exited. */
interface Output {
  step: string;
  stdout: string;
  stderr: string;
  code: number | undefined;
}

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
   * The line sent for a constant command: PATH with sbin, and `sudo -n` when configured. With
   * `boundMs`, the command runs under `timeout -k`: closing the channel does not stop a remote
   * command (one that reads no input runs on), so the host ends it itself a second after the
   * client gives up (SIGTERM to its process group, SIGKILL a second later). A process that left
   * the group on purpose (the rollback timer, in a session of its own) is not touched.
   */
  private commandLine(command: string, boundMs?: number): string {
    // sbin is not on every user's PATH (nft, iptables, ipset live there).
    const script = `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH\n${command}`;
    const bounded = boundMs === undefined ? `sh -c ${shQuote(script)}` : `timeout -k 1 ${remoteBoundSec(boundMs)} sh -c ${shQuote(script)}`;
    return this.target.sudo ? `sudo -n ${bounded}` : boundMs === undefined ? script : bounded;
  }

  /** The error for a command that ended on sudo's password prompt, if it did. */
  private sudoRefusal(step: string, code: number | undefined, stderr: string): HostError | undefined {
    if (!this.target.sudo || code !== 1 || !/sudo: a (terminal|password) is required/.test(stderr)) return undefined;
    return new HostError({ host: this.name, step, cause: 'sudo asked for a password', hint: `Allow password-less sudo for ${this.target.user ?? 'root'} (NOPASSWD) or log in as root` });
  }

  /** Bytes of the commands and stdin run() sent on this session (what an apply costs on the wire, framing aside). */
  bytesSent = 0;

  /**
   * Runs a constant command (with `sudo -n` when configured); `stdin` carries the data.
   * Resolves with the exit code and output whatever the exit code; rejects on transport errors and timeouts.
   */
  run(command: string, stdin?: string, options: RunOptions = {}): Promise<CommandResult> {
    this.bytesSent += Buffer.byteLength(command) + Buffer.byteLength(stdin ?? '');
    return this.exec<CommandResult>(command, options, { bounded: true, late: 'did not finish' }, (ch, output, finish) => {
      ch.on('close', () => {
        observers.forEach((o) => o.ran?.(this.name, output.step, { command, stdin: stdin ?? '' }, Buffer.byteLength(output.stdout) + Buffer.byteLength(output.stderr)));
        finish(this.sudoRefusal(output.step, output.code, output.stderr), { code: output.code ?? -1, stdout: output.stdout, stderr: output.stderr });
      });
      ch.end(stdin ?? '');
    });
  }

  /**
   * Starts a constant command that keeps running while the client works, for what the host must
   * hold meanwhile (a table's lock). Resolves once the command prints the line `readyLine`, with
   * what it printed before; the command then runs until release() ends its input, or until the
   * connection drops (sshd closes its input then too, so a client that dies releases it as well).
   * A command that exits before it is ready resolves with its result instead. It has no remote
   * time bound (it is meant to outlive any one command); the dropped connection ends it.
   */
  hold(command: string, readyLine: string, options: RunOptions = {}): Promise<HoldResult> {
    return this.exec<HoldResult>(command, options, { bounded: false, late: 'was not ready' }, (ch, output, finish) => {
      const closed = new Promise<void>((done) => ch.on('close', () => done()));
      ch.on('data', () => {
        const lines = output.stdout.split('\n');
        const at = lines.indexOf(readyLine);
        if (at >= 0 && at < lines.length - 1) {
          const release = async (): Promise<void> => {
            ch.end();
            await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
          };
          finish(undefined, { ready: true, output: lines.slice(0, at).join('\n'), release });
        }
      });
      void closed.then(() => finish(this.sudoRefusal(output.step, output.code, output.stderr), { ready: false, result: { code: output.code ?? -1, stdout: output.stdout, stderr: output.stderr } }));
    });
  }

  /**
   * Starts a constant command that prints for as long as it runs (an event stream). Each whole
   * line of stdout goes to `onLine` as it arrives (nothing is kept, so there is no output cap).
   * Resolves once the command started, with `ended` (resolves with the exit and the last of stderr
   * when the command exits or the connection drops) and `stop()` (closes the channel). No time bound.
   */
  follow(command: string, onLine: (line: string) => void, options: RunOptions = {}): Promise<FollowHandle> {
    return this.exec<FollowHandle>(command, { ...options, maxOutputBytes: Number.POSITIVE_INFINITY }, { bounded: false, late: 'did not start' }, (ch, output, finish) => {
      const ended = new Promise<CommandResult>((done) => {
        const end = (): void => done({ code: output.code ?? -1, stdout: '', stderr: output.stderr.slice(-2000) });
        ch.on('close', end);
        this.client.on('close', end);
      });
      ch.on('data', () => {
        const lines = output.stdout.split('\n');
        output.stdout = lines.pop() ?? '';
        for (const l of lines) onLine(l);
      });
      ch.stderr.on('data', () => { if (output.stderr.length > 8000) output.stderr = output.stderr.slice(-4000); });
      ch.end();
      finish(undefined, { ended, stop: () => ch.close() });
    });
  }

  /**
   * What run() and hold() share: the closed check, the observers, one settlement, the client's
   * timeout, the output cap, and stdout / stderr / exit code collected into `output` before
   * `attach`'s handlers see them. `bounded`: the host ends the command itself after the timeout.
   */
  private exec<R>(
    command: string,
    options: RunOptions,
    kind: { bounded: boolean; late: string },
    attach: (ch: ClientChannel, output: Output, finish: (err: HostError | undefined, result?: R) => void) => void,
  ): Promise<R> {
    const step = options.step ?? 'command';
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new HostError({ host: this.name, step, cause: 'the SSH connection is closed' }));
        return;
      }
      observers.forEach((o) => o.commandStarted?.(this.name, step, command));
      let channel: ClientChannel | undefined;
      const output: Output = { step, stdout: '', stderr: '', code: undefined };
      const startedAt = Date.now();
      let settled = false;
      const finish = (err: HostError | undefined, result?: R): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else if (result) resolve(result);
      };
      /**
       * The client's time bound: closes the channel and fails the step the command was in. A
       * bounded command may run on until the host's own bound ends it (remoteBoundSec, then
       * `timeout -k 1`): the error comes once that has passed, so no caller acts (restores,
       * releases the lock) while the command can still change something.
       */
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        channel?.close();
        const err = new HostError({
          host: this.name,
          step: options.stepAt ? options.stepAt(output.stdout) : step,
          cause: `the command ${kind.late} within ${timeoutMs} ms`,
          hint: 'Check the host (load, a hung nft/iptables lock) or raise commandTimeoutMs',
          ...(kind.bounded ? { cutOff: true as const } : {}),
        });
        if (!kind.bounded) reject(err);
        else setTimeout(() => reject(err), Math.max(0, startedAt + hostEndsWithinMs(timeoutMs) - Date.now()));
      }, timeoutMs);
      this.client.exec(this.commandLine(command, kind.bounded ? timeoutMs : undefined), (err, ch) => {
        if (err) {
          finish(new HostError({ host: this.name, step, cause: `cannot start the command: ${err.message}` }));
          return;
        }
        channel = ch;
        let printed = 0;
        const limit = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
        /** False (and the step failed) once the command has printed more than the limit. */
        const within = (d: Buffer): boolean => {
          printed += d.length;
          if (printed <= limit) return true;
          // At once: with its output closed the command ends on its next write.
          ch.close();
          finish(new HostError({ host: this.name, step: options.stepAt ? options.stepAt(output.stdout) : step, cause: `the command printed more than ${mebibytes(limit)}`, hint: 'Is this the host the model names? A table and its sets list in far less' }));
          return false;
        };
        ch.on('data', (d: Buffer) => { if (within(d)) output.stdout += d.toString(); });
        ch.stderr.on('data', (d: Buffer) => { if (within(d)) output.stderr += d.toString(); });
        ch.on('exit', (c: number | null, signal?: string) => {
          output.code = typeof c === 'number' ? c : -1;
          if (signal) output.stderr += `\n(killed by signal ${signal})`;
        });
        attach(ch, output, finish);
      });
    });
  }

  close(): void {
    if (!this.closed) this.client.end();
    this.closed = true;
    this.bastion?.close();
  }
}

/** Whole seconds the host gives a command: one more than the client waits, so the client's own timeout is what reports. */
export function remoteBoundSec(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 1000) + 1;
}

/**
 * How long after the client started it a bounded command has surely ended on the host: the
 * host's bound, its SIGKILL a second later (`timeout -k 1`), and a second for the start to reach
 * the host.
 */
export function hostEndsWithinMs(timeoutMs: number): number {
  return remoteBoundSec(timeoutMs) * 1000 + 2000;
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
