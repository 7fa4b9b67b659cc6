/**
 * The effects the resources need, behind one small interface: the SSH target for hosts and the
 * Kubernetes target for clusters. Tests substitute a module exporting the same functions by naming
 * it in NETPOL_TEST_SSH_TARGET (read at call time, never at module load).
 */
import type * as Ssh from "../targets/ssh";
import type * as KubeClient from "../targets/kube/client";
import type * as Kubeconfig from "../targets/kube/kubeconfig";
import { loadModule } from "./loader";

export type HostTargets = Pick<typeof Ssh, "applyHosts" | "readHost" | "deleteHost">;

export function hostTargets(): HostTargets {
  const override = process.env.NETPOL_TEST_SSH_TARGET;
  if (override) {
    const load: (id: string) => unknown = require;
    return load(override) as HostTargets;
  }
  return loadModule<typeof Ssh>("targets/ssh");
}

export interface KubeTargets {
  client: typeof KubeClient;
  kubeconfig: typeof Kubeconfig;
}

export function kubeTargets(): KubeTargets {
  return { client: loadModule<typeof KubeClient>("targets/kube/client"), kubeconfig: loadModule<typeof Kubeconfig>("targets/kube/kubeconfig") };
}
