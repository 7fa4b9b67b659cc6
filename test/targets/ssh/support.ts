/** Shared by the SSH target tests: a lab host as an SshTarget, the HostError of a rejection, model files and the table's files on a lab host. */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { Lab } from '../../lab/lab';
import { HostError } from '../../../provider/targets/ssh/host-error';
import { SshTarget } from '../../../provider/targets/ssh/connect';
import { DEFAULT_STATE_DIR, LOCK_DIR } from '../../../provider/targets/ssh/table-place';
import { readHost } from '../../../provider/targets/ssh/hosts';
import { ModelInput, parseModel } from '../../../provider/model/model';
import { desiredHosts } from '../../../provider/deploy/hosts/rules';
import { HostRuleset } from '../../../provider/ruleset';

/** Root on a lab host, by key, with its host key pinned and a short connect timeout. */
export function labTarget(lab: Lab, host: string, extra: Partial<SshTarget> = {}): SshTarget {
  const info = lab.hostSsh(host);
  return { host: info.host, port: info.port, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey, connectTimeoutMs: 3000, ...extra };
}

/** The HostError `p` rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<HostError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(HostError);
    return err as HostError;
  }
  throw new Error('expected a rejection');
}

/** Where a table's lock and rollback files are on a lab host (provider/targets/ssh/table-place.ts). */
export async function tableFiles(lab: Lab, host: string, table: string): Promise<{ base: string; lock: string }> {
  const link = (await lab.exec(host, ['readlink', '/proc/self/ns/net'])).stdout.trim();
  const ns = /^net:\[(\d+)\]$/.exec(link)?.[1];
  if (!ns) throw new Error(`unexpected /proc/self/ns/net: ${link}`);
  return { base: `${DEFAULT_STATE_DIR}/${table}.n${ns}`, lock: `${LOCK_DIR}/${table}.n${ns}.lock` };
}

/** Whether nobody holds the table's lock on the host (a non-blocking flock of our own gets it). */
export async function lockIsFree(lab: Lab, host: string, table: string): Promise<boolean> {
  const { lock } = await tableFiles(lab, host, table);
  return (await lab.exec(host, ['flock', '-n', lock, 'true'], { check: false })).code === 0;
}

/** The table's rollback files on the host (suffixes after `<table>.n<ns>`: `.timer`, `.fired`, …). */
export async function timerFiles(lab: Lab, host: string, table: string): Promise<string[]> {
  const { base } = await tableFiles(lab, host, table);
  const prefix = base.slice(DEFAULT_STATE_DIR.length + 1);
  const listing = (await lab.exec(host, ['ls', '-A', DEFAULT_STATE_DIR])).stdout.split('\n');
  return listing.filter((f) => f.startsWith(`${prefix}.`)).map((f) => f.slice(prefix.length)).sort();
}

/**
 * A model file for the lab: `model` as written (its host names may differ from the lab's), every
 * host reached over SSH as lab host `labHost`, endpoints at their lab addresses. Returns its path.
 */
export function writeModelFile(lab: Lab, labHost: string, model: ModelInput, backend: 'nftables' | 'iptables'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-ssh-'));
  const ssh = lab.hostSsh(labHost);
  fs.writeFileSync(path.join(dir, 'id_lab'), ssh.privateKey, { mode: 0o600 });
  const doc: ModelInput = {
    ...model,
    hosts: (model.hosts ?? []).map((h) => ({ name: h.name, backend, ssh: { host: ssh.host, port: ssh.port, user: ssh.user, privateKeyPath: './id_lab', hostKey: ssh.hostKey } })),
    endpoints: (model.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })),
  };
  const file = path.join(dir, 'model.yaml');
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/** The project's rules on a host as listed there, minus what changes without meaning (ipset's random initval). */
export async function ownRules(lab: Lab, host: string, backend: 'nftables' | 'iptables', table: string): Promise<string> {
  const read = await readHost(labTarget(lab, host), host, backend, table);
  return read.present ? (read.text ?? '').replace(/ initval 0x[0-9a-f]+/g, '') : '(absent)';
}

/** Temporary (staging) sets of the table on the host. */
export async function stagedSets(lab: Lab, host: string, table: string): Promise<string[]> {
  const names = (await lab.exec(host, ['ipset', 'list', '-n'])).stdout.split('\n');
  return names.filter((n) => new RegExp(`^${table}_t[0-9a-f]{8,9}$`).test(n));
}

/**
 * Stack isolation (Rancher) on one lab host, called `host` in the model: endpoints a, b and c
 * placed in `stacks`, so two placements give two models of one network with different sets.
 */
export function stackModel(lab: Lab, network: string, host: string, stacks: [string, string, string]): ModelInput {
  return {
    name: network,
    hosts: [{ name: host }],
    endpoints: ['a', 'b', 'c'].map((name, i) => ({ name, host, ips: [lab.endpoint(name).ipv4], stack: stacks[i], service: name })),
    network: { defaultPolicyAction: 'deny', policy: [{ within: 'stack', action: 'allow' }] },
  };
}

/** The ruleset a model renders for its first host, on `backend`. */
export function rulesetOf(model: ModelInput, backend: 'nftables' | 'iptables'): HostRuleset {
  const parsed = parseModel({ ...model, hosts: (model.hosts ?? []).map((h) => ({ ...h, backend })) });
  return desiredHosts(parsed)[0].ruleset;
}

/** A `netpol` child process (as a user runs it), so a test can SIGKILL it. */
export interface CliChild {
  child: ChildProcess;
  /** Resolves with stderr so far once it matches `pattern`; rejects when the process ends first or after `timeoutMs`. */
  stderrMatching(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The same for stdout. */
  stdoutMatching(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code or the signal that ended it. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');

export function spawnCli(args: string[], env: Record<string, string> = {}): CliChild {
  // ts-register.js: ts-node's transpile-only mode with the output kept between processes.
  const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/support/ts-register.js'), path.join(ROOT, 'provider/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = { stdout: '', stderr: '' };
  child.stderr?.on('data', (d: Buffer) => (text.stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (text.stdout += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))); // after the last output
  const matching = (stream: 'stdout' | 'stderr') => (pattern: RegExp, timeoutMs = 60_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (pattern.test(text[stream])) {
          clearInterval(poll);
          resolve(text[stream]);
        } else if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > timeoutMs) {
          clearInterval(poll);
          reject(new Error(`netpol ${args.join(' ')}: no ${stream} line matching ${pattern} (exit ${child.exitCode ?? child.signalCode ?? 'none yet'}); stdout:\n${text.stdout}\nstderr:\n${text.stderr}`));
        }
      }, 50);
    });
  return { child, stderrMatching: matching('stderr'), stdoutMatching: matching('stdout'), ended };
}
