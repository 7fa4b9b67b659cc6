/**
 * Model hosts → SSH targets for the CLI: key and known_hosts paths resolve against the model
 * file's folder (as the cluster's kubeconfig path does, see cluster-settings.ts); secrets come from the
 * environment variables the model names, read at call time.
 */
import * as path from "node:path";
import { InputError, InputIssue } from "../model/errors";
import { SshConnectionInput } from "../model/inventory";
import { Model } from "../model/model";
import type { HostConnection } from "../deploy/hosts/target";
import type { SshTarget } from "../targets/ssh/connect";


function toTarget(c: SshConnectionInput, at: string, baseDir: string, env: Record<string, string | undefined>, issues: InputIssue[]): SshTarget {
  const fromEnv = (field: "privateKeyEnv" | "passphraseEnv" | "passwordEnv") => {
    const name = c[field];
    if (name === undefined) return undefined;
    const value = env[name];
    if (value === undefined || value === "") issues.push({ path: `${at}.${field}`, message: `environment variable ${name} is not set` });
    return value;
  };
  return {
    host: c.host,
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.privateKeyPath !== undefined ? { privateKeyPath: path.resolve(baseDir, c.privateKeyPath) } : {}),
    ...(c.privateKeyEnv !== undefined ? { privateKey: fromEnv("privateKeyEnv") } : {}),
    ...(c.passphraseEnv !== undefined ? { passphrase: fromEnv("passphraseEnv") } : {}),
    ...(c.passwordEnv !== undefined ? { password: fromEnv("passwordEnv") } : {}),
    ...(c.agent !== undefined ? { agent: c.agent } : {}),
    ...(c.hostKey !== undefined ? { hostKey: c.hostKey } : {}),
    ...(c.knownHostsPath !== undefined ? { knownHostsPath: path.resolve(baseDir, c.knownHostsPath) } : {}),
    ...(c.insecureSkipHostKeyVerification !== undefined ? { insecureSkipHostKeyVerification: c.insecureSkipHostKeyVerification } : {}),
    ...(c.sudo !== undefined ? { sudo: c.sudo } : {}),
    ...(c.connectTimeoutMs !== undefined ? { connectTimeoutMs: c.connectTimeoutMs } : {}),
    ...(c.commandTimeoutMs !== undefined ? { commandTimeoutMs: c.commandTimeoutMs } : {}),
    ...(c.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: c.keepaliveIntervalMs } : {}),
    ...(c.bastion !== undefined ? { bastion: toTarget(c.bastion, `${at}.bastion`, baseDir, env, issues) } : {}),
  };
}

/**
 * The hosts of the model (or only those named in `only`) with their SSH targets; an InputError
 * lists hosts that cannot be reached.
 */
export function hostTargets(model: Model, file: string, cwd: string, env: Record<string, string | undefined>, only?: readonly string[]): HostConnection[] {
  const baseDir = path.dirname(path.resolve(cwd, file));
  const issues: InputIssue[] = [];
  const hosts = (model.hosts ?? []).map((h, i) => {
    if (only !== undefined && !only.includes(h.name)) return undefined;
    if (!h.ssh) {
      const clusterOnly = model.cluster !== undefined ? " (or run with --cluster to act on the cluster only)" : "";
      issues.push({ path: `hosts[${i}].ssh`, message: `host "${h.name}" has no ssh settings; add ssh: { host, user, privateKeyPath, hostKey } to apply to it${clusterOnly}` });
      return undefined;
    }
    return { name: h.name, target: toTarget(h.ssh, `hosts[${i}].ssh`, baseDir, env, issues) };
  });
  if (issues.length > 0) throw new InputError(file, issues);
  return hosts.filter((h): h is HostConnection => h !== undefined);
}
