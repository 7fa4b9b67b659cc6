/**
 * What `netpol plan / apply / destroy / status` act on, from the command line: the model file,
 * `--host`, `--cluster` and `--rancher`. Everything is validated (model, SSH settings, kubeconfig, cluster
 * objects) before anything is read or written, and the problems of both halves are reported
 * together.
 */
import type { DeployInput } from "../deploy/registry";
import { InputError } from "../model/errors";
import { ParsedArgs, UsageError } from "./args";
import { clusterSettings } from "./cluster-settings";
import { CliIo } from "./io";
import { loadLiveModel } from "./load";
import { rancherSettings } from "./rancher-settings";
import { hostTargets } from "./ssh-settings";
import { printWarnings } from "./warnings";

/**
 * With none of --host, --cluster, --rancher: every host, the cluster and the Rancher network (those
 * the model has); otherwise only what is named. `warnings`: print the model's warnings first
 * (plan and apply).
 */
export async function deployInput(args: ParsedArgs, io: CliIo, extra: { concurrency?: number; warnings?: boolean } = {}): Promise<DeployInput> {
  const file = args.positional[0];
  const { model } = await loadLiveModel(file, io);
  if (extra.warnings) printWarnings(file, model, io);
  const only = args.options.host;
  const clusterFlag = args.flags.has("cluster");
  if (clusterFlag && model.cluster === undefined) {
    throw new UsageError("--cluster: the model has no cluster; add cluster: { kubeconfig: PATH, context: NAME } to it");
  }
  const rancherFlag = args.flags.has("rancher");
  if (rancherFlag && model.rancher === undefined) {
    throw new UsageError("--rancher: the model has no rancher target; add rancher: { url, project, network, accessKeyEnv, secretKeyEnv } to it");
  }
  for (const h of only ?? []) if (!(model.hosts ?? []).some((t) => t.name === h)) throw new UsageError(`--host: no host named "${h}" in the model`);
  const selecting = only !== undefined || clusterFlag || rancherFlag;
  const wantHosts = !selecting || only !== undefined;
  const wantCluster = model.cluster !== undefined && (!selecting || clusterFlag);
  const wantRancher = model.rancher !== undefined && (!selecting || rancherFlag);
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
  const rancher = wantRancher ? await collect(() => rancherSettings(model, file, io.cwd, io.env)) : undefined;
  if (issues.length > 0) throw new InputError(file, issues);
  const hostNames = (connections ?? []).map((c) => c.name);
  if (hostNames.length === 0 && cluster === undefined && rancher === undefined) {
    throw new UsageError("the model names no hosts, no cluster and no Rancher network to act on (add hosts with ssh settings, cluster: { kubeconfig, context } or rancher: { url, project, network, accessKeyEnv, secretKeyEnv })");
  }
  return {
    model,
    ...(hostNames.length > 0 ? { hosts: { connections: connections ?? [], only: hostNames, ...(extra.concurrency !== undefined ? { concurrency: extra.concurrency } : {}) } } : {}),
    ...(cluster ? { cluster } : {}),
    ...(rancher ? { rancher } : {}),
  };
}
