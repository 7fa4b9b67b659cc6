/**
 * Which cluster a `cluster` target names: the API server its kubeconfig's selected context resolves
 * to, not the kubeconfig's text. So a new token, client certificate or CA for the same server is the
 * same cluster (an update), and another server is another cluster (a replacement).
 *
 * The server URL can come from secret text, so it never leaves this module: callers get a sha256 of
 * it, and compare digests. Kubeconfig errors are not passed on either; whoever needs the real error
 * (create, update, refresh, delete) gets it from connecting.
 */
import { isRecord } from "../model/common";
import { createHash } from "crypto";
import { KubeconfigOptions, loadKubeconfig } from "../targets/kube/kubeconfig";
import { containsUnknown, Props } from "./inputs";
import { ClusterInput } from "./schema";

/**
 * The output that remembers, for a kubeconfig file (or `KUBECONFIG`, `~/.kube/config`), which
 * server the object was written to: the file can change under the same path. Inline text needs no
 * such output, because the old text itself is in the old outputs (as a secret) and resolves again.
 */
export const SERVER_DIGEST_KEY = "clusterServerSha256";


/** Where a target's kubeconfig is read from: inline text wins over a path; neither = `KUBECONFIG` or `~/.kube/config`. */
export function kubeconfigOptions(cluster: ClusterInput): KubeconfigOptions {
  return {
    ...(cluster.kubeconfigContent ? { inline: cluster.kubeconfigContent } : cluster.kubeconfig ? { path: cluster.kubeconfig } : {}),
    ...(cluster.context ? { context: cluster.context } : {}),
    ...(cluster.insecureAllowHttp === true ? { insecureAllowHttp: true } : {}),
  };
}

/** sha256 (hex) of a server URL in one spelling: lower-case host, no default port, no trailing slash. */
export function serverDigest(server: string): string {
  let normalized = server.replace(/\/+$/, "");
  try {
    const url = new URL(server);
    normalized = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    // loadKubeconfig accepts only URLs; keep the text as it is if one gets here anyway.
  }
  return createHash("sha256").update(normalized).digest("hex");
}

/** The digest output to store for a target whose object was just written to `server` (none for inline text). */
export function storedServerDigest(cluster: ClusterInput, server: string): Props {
  return cluster.kubeconfigContent ? {} : { [SERVER_DIGEST_KEY]: serverDigest(server) };
}

/**
 * The digest of the server a target resolves to now; undefined when a part of the target is not
 * known yet (preview) or the kubeconfig does not resolve (unreadable, unparseable, no such context).
 */
export async function resolvedServerDigest(cluster: unknown): Promise<string | undefined> {
  if (!isRecord(cluster)) return undefined;
  // Only these say where the server is (and whether an http:// one may be used); `force`,
  // `fieldManager` and the like play no part.
  const { kubeconfig, kubeconfigContent, context, insecureAllowHttp } = cluster;
  const where = { kubeconfig, kubeconfigContent, context, insecureAllowHttp };
  if (containsUnknown(where)) return undefined;
  const target = ClusterInput.safeParse(where);
  if (!target.success) return undefined;
  try {
    const connection = await loadKubeconfig(kubeconfigOptions(target.data));
    return serverDigest(connection.server);
  } catch {
    return undefined;
  }
}

/**
 * The digest of the server the object of these (old) outputs was written to: resolved from the old
 * inline text, else the digest stored at write time, else (state written before that output existed)
 * what the old file and context resolve to now.
 */
export async function writtenServerDigest(outputs: Props): Promise<string | undefined> {
  const cluster = outputs.cluster;
  if (isRecord(cluster) && cluster.kubeconfigContent !== undefined) return resolvedServerDigest(cluster);
  const stored = outputs[SERVER_DIGEST_KEY];
  return typeof stored === "string" ? stored : resolvedServerDigest(cluster);
}
