/**
 * The Kubernetes seed's NetworkPolicy, written to a cluster by server-side apply: role=db pods of
 * the namespace accept tcp/6379 from every pod of a namespace labelled project=myproject and from
 * role=frontend pods of their own namespace; nothing else reaches them.
 *
 *   config: kubeconfig (a path; `~/` and relative paths are expanded here) or kubeconfigContent
 *           (the whole kubeconfig text, secret); context (@default the kubeconfig's
 *           current-context); force (take back fields someone else changed, e.g. by
 *           kubectl edit, instead of failing with 409; @default false); namespace (@default
 *           "default"); redisPort (@default 6379);
 *           isolateNamespace (the seed's DefaultDeny: every other pod of the namespace closed to
 *           ingress, written as the equivalent default-deny-ingress NetworkPolicy; @default false)
 */
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ClusterTargetArgs, kubernetesPorts, NetworkPolicy } from "pulumi-netpolicy";

const config = new pulumi.Config();

/** The cluster from stack config: a kubeconfig file, or its text as a secret; a context; force. */
function clusterTarget(): pulumi.Input<ClusterTargetArgs> {
  const file = config.get("kubeconfig");
  const content = config.getSecret("kubeconfigContent");
  const context = config.get("context");
  if (file !== undefined && content !== undefined) {
    throw new Error("set either config kubeconfig (a path) or kubeconfigContent (the text), not both");
  }
  const force = config.getBoolean("force");
  const where = { ...(context !== undefined ? { context } : {}), ...(force !== undefined ? { force } : {}) };
  if (content !== undefined) return content.apply((text) => ({ kubeconfigContent: text, ...where }));
  if (file === undefined) return where; // KUBECONFIG or ~/.kube/config, as kubectl does
  const expanded = file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file;
  return { kubeconfig: path.resolve(expanded), ...where };
}

const cluster = clusterTarget();
const namespace = config.get("namespace") ?? "default";

const policy = new NetworkPolicy("test-network-policy", {
  metadata: { name: "test-network-policy", namespace },
  spec: {
    podSelector: { matchLabels: { role: "db" } },
    ingress: [{
      from: [
        { namespaceSelector: { matchLabels: { project: "myproject" } } },
        { podSelector: { matchLabels: { role: "frontend" } } },
      ],
      ports: [kubernetesPorts.tcp(config.getNumber("redisPort") ?? 6379)],
    }],
  },
  cluster,
});

// The seed isolates a namespace with the DefaultDeny annotation; clusters today ignore it, and
// this policy (every pod selected, no ingress rule) is its equivalent.
const isolation = config.getBoolean("isolateNamespace")
  ? new NetworkPolicy("default-deny-ingress", {
    metadata: { name: "default-deny-ingress", namespace },
    spec: { podSelector: {}, policyTypes: ["Ingress"] },
    cluster,
  }, { dependsOn: [policy] })
  : undefined;

export const policyName = pulumi.interpolate`${namespace}/${policy.document.metadata.name}`;
export const isolated = isolation !== undefined;
