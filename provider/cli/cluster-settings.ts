/**
 * The model's `cluster:` target for the CLI: the kubeconfig (a path relative to the model file;
 * without one, KUBECONFIG or ~/.kube/config) and context, resolved and connected (nothing is sent
 * yet), with every object the model puts there. Errors are InputErrors naming the model file.
 */
import * as path from "node:path";
import { desiredObjects } from "../deploy/cluster/objects";
import type { DeployInput } from "../deploy/registry";
import { InputError } from "../model/errors";
import { Model } from "../model/model";
import { KubeClient } from "../targets/kube/client";
import { ClientInputError } from "../targets/api-errors";

export async function clusterSettings(model: Model, file: string, cwd: string, env: Record<string, string | undefined>): Promise<NonNullable<DeployInput["cluster"]>> {
  const target = model.cluster ?? {};
  const baseDir = path.dirname(path.resolve(cwd, file));
  const objects = desiredObjects(model, file);
  let client: KubeClient;
  try {
    client = await KubeClient.connect({
      ...(target.kubeconfig !== undefined ? { path: path.resolve(baseDir, target.kubeconfig) } : {}),
      ...(target.context !== undefined ? { context: target.context } : {}),
      ...(target.insecureAllowHttp === true ? { insecureAllowHttp: true } : {}),
      env,
      maxAttempts: 3,
      timeoutMs: 20_000,
    });
  } catch (e) {
    if (e instanceof ClientInputError) throw new InputError(file, [{ path: target.kubeconfig !== undefined ? "cluster.kubeconfig" : "cluster", message: e.message }]);
    throw e;
  }
  const c = client.connection;
  const isolatedNamespaces = (model.namespaces ?? []).filter((n) => n.isolation === "DefaultDeny").map((n) => n.name);
  return { client, objects, title: `cluster: context "${c.context}" of ${c.source} (${c.server})`, options: { isolatedNamespaces } };
}
