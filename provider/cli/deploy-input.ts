/**
 * What `netpol plan / apply / destroy / status` act on, from the command line: the model file,
 * `--host` and `--cluster`. Everything is validated (model, SSH settings, kubeconfig, cluster
 * objects) before anything is read or written, and the problems of both halves are reported
 * together.
 */
import type { DeployInput } from "../deploy/registry";
import { InputError } from "../model/errors";
import { ParsedArgs, UsageError } from "./args";
import { clusterSettings } from "./cluster-settings";
import { CliIo } from "./io";
import { loadModelFile } from "./load";
import { hostTargets } from "./ssh-settings";

/**
 * With neither --host nor --cluster: every host and the cluster (when the model has one);
 * otherwise only what is named.
 */
export async function deployInput(args: ParsedArgs, io: CliIo, extra: { concurrency?: number } = {}): Promise<DeployInput> {
  const file = args.positional[0];
  const model = await loadModelFile(file, io.cwd);
  const only = args.options.host;
  const clusterFlag = args.flags.has("cluster");
  if (clusterFlag && model.cluster === undefined) {
    throw new UsageError("--cluster: the model has no cluster; add cluster: { kubeconfig: PATH, context: NAME } to it");
  }
  for (const h of only ?? []) if (!(model.hosts ?? []).some((t) => t.name === h)) throw new UsageError(`--host: no host named "${h}" in the model`);
  const selecting = only !== undefined || clusterFlag;
  const wantHosts = !selecting || only !== undefined;
  const wantCluster = model.cluster !== undefined && (!selecting || clusterFlag);
  const issues: InputError["issues"] = [];
  const collect = async <T>(f: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      issues.push(...e.issues);
      return undefined;
    }
  };
  const connections = wantHosts ? await collect(() => hostTargets(model, file, io.cwd, io.env, only)) : [];
  const cluster = wantCluster ? await collect(() => clusterSettings(model, file, io.cwd, io.env)) : undefined;
  if (issues.length > 0) throw new InputError(file, issues);
  const hostNames = (connections ?? []).map((c) => c.name);
  if (hostNames.length === 0 && cluster === undefined) {
    throw new UsageError("the model names no hosts and no cluster to act on (add hosts with ssh settings, or cluster: { kubeconfig, context })");
  }
  return {
    model,
    ...(hostNames.length > 0 ? { hosts: { connections: connections ?? [], only: hostNames, ...(extra.concurrency !== undefined ? { concurrency: extra.concurrency } : {}) } } : {}),
    ...(cluster ? { cluster } : {}),
  };
}
