/**
 * What Profile, Policy and NetworkPolicy share: the optional cluster target and the object the
 * cluster has. Without a cluster target each is a validated document: pass the resource to a
 * `Network` (its `profiles`, `policies` or `networkPolicies`) and the Network enforces it on its
 * hosts. With a `cluster` the document is also written to that cluster's API by server-side apply:
 * a NetworkPolicy as itself, a Profile as a Calico `projectcalico.org/v3` Profile, a Policy as a
 * GlobalNetworkPolicy.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ClusterInput as ClusterInputSchema } from "../provider/resources/schema";
import { InputsOf } from "./input";

export type ClusterTargetArgs = z.input<typeof ClusterInputSchema>;
type ClusterInput = InputsOf<{ c: ClusterTargetArgs }>["c"];

/** An object in the cluster as the outputs show it: its status and other server-set fields are left out. */
export interface LiveObject {
  /** e.g. `"networking.k8s.io/v1"` or `"projectcalico.org/v3"`. */
  apiVersion: string;
  /** e.g. `"NetworkPolicy"`, `"Profile"`, `"GlobalNetworkPolicy"`. */
  kind: string;
  /** The object's name, its namespace (NetworkPolicies only), labels and annotations. */
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** The object's spec as it is. */
  spec: Record<string, unknown>;
}

/** The cluster target argument shared by Profile, Policy and NetworkPolicy. */
export interface ClusterArgs {
  /**
   * Also write the document to this cluster: `kubeconfig` (a path; @default the `KUBECONFIG`
   * files, else `~/.kube/config`) or `kubeconfigContent` (the text), `context` (@default the
   * kubeconfig's `current-context`), `fieldManager` (@default "pulumi-netpolicy"), `force` (take
   * over fields another field manager owns instead of failing with 409 Conflict; @default false),
   * `insecureAllowHttp` (accept an `http://` server, token in clear text; @default false).
   * The whole target is stored as a secret. Without it the document is only for a Network.
   *
   * The cluster is the API server the kubeconfig's context resolves to, not the kubeconfig text:
   * a new token, client certificate or CA for the same server (or another context on it) updates
   * in place; another server replaces the object (created there, deleted from the old server with
   * the old kubeconfig). For a kubeconfig file, a sha256 of the server is kept in the state
   * (`clusterServerSha256`) to notice a file rewritten to another server.
   */
  cluster?: ClusterInput;
}

/** The `cluster` input as the provider gets it: secret as a whole, or left out. */
export function secretCluster(cluster: ClusterInput | undefined): Record<string, unknown> {
  return cluster !== undefined ? { cluster: pulumi.secret(cluster) } : {};
}

/** Outputs a resource with a cluster target has (undefined without one). */
export const CLUSTER_OUTPUTS = { live: undefined, drift: undefined } as const;
