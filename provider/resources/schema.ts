/**
 * Input schemas of the resources. They reuse the model's schemas (provider/model) and add what a
 * Pulumi program passes that a model file does not: SSH secrets as values, a cluster target.
 * These are the single source of the SDK's input types (`z.input`).
 */
import { z } from "zod";
import { CalicoPolicy, CalicoProfile } from "../model/calico";
import { Expectations } from "../model/expectations";
import { hostKeyPin, Host } from "../model/inventory";
import { ClusterSettings, ModelSchema } from "../model/model";
import { NetworkPolicy as NetworkPolicyDoc } from "../model/kubernetes";
import { byType } from "../model/picked-union";
import { RancherAction, RancherRule } from "../model/rancher";

const hostName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/,
  "a host name must be 1-63 letters, digits, '_', '.' and '-', starting and ending with a letter or digit");

/** A secret string; its messages never repeat the value. */
const secretText = (what: string) => z.string({ invalid_type_error: `${what} must be a string` }).min(1, `${what} must not be empty`);

const agentFlag = z.boolean();
const agentSocket = z.string().min(1, "an agent socket path must not be empty");

/** How the provider reaches a host over SSH (all but `bastion`, which nests these again). */
const sshFields = {
  /** Address or DNS name of the host's sshd. */
  host: z.string().regex(/^[A-Za-z0-9:.\-\[\]]{1,253}$/, "must be an IP address or DNS name"),
  /** @default 22 */
  port: z.number().int().min(1, "a port must be from 1 to 65535").max(65535, "a port must be from 1 to 65535").optional(),
  /** @default "root" */
  user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a valid login name").optional(),
  /** OpenSSH or PEM private key text. Secret. */
  privateKey: secretText("privateKey").optional(),
  /** A private key file on the machine running the provider. */
  privateKeyPath: z.string().min(1).max(4096).optional(),
  /** Passphrase of an encrypted private key. Secret. */
  passphrase: secretText("passphrase").optional(),
  /** Password authentication. Secret. */
  password: secretText("password").optional(),
  /** Use an SSH agent: true for $SSH_AUTH_SOCK (read when connecting), or a socket path. @default false */
  agent: byType([agentFlag, agentSocket] as const, { boolean: agentFlag, string: agentSocket }, "true, false or an agent socket path").optional(),
  /** Pinned host key: a `SHA256:…` fingerprint or an OpenSSH public key line. */
  hostKey: hostKeyPin.optional(),
  /** known_hosts text (lines as OpenSSH writes them) to verify the host key against. */
  knownHosts: z.string().min(1).max(1024 * 1024).optional(),
  /** A known_hosts file on the machine running the provider. */
  knownHostsPath: z.string().min(1).max(4096).optional(),
  /** Accepts any host key: exposes the connection to a man in the middle. Throwaway test machines only. @default false */
  insecureSkipHostKeyVerification: z.boolean().optional(),
  /** Run commands through `sudo -n` (for a non-root user with password-less sudo). @default false */
  sudo: z.boolean().optional(),
  /** @default 10000 */
  connectTimeoutMs: z.number().int().min(100).max(600_000).optional(),
  /** @default 60000 */
  commandTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  /** SSH keepalive interval: a host silent for three of them ends the connection; 0 disables. @default 15000 */
  keepaliveIntervalMs: z.number().int().min(0).max(600_000).optional(),
};

/** How the provider reaches a host over SSH. The type is spelled out only because it nests itself. */
export type SshSettingsInput = z.infer<z.ZodObject<typeof sshFields>> & {
  /** Reach the host through this jump host. */
  bastion?: SshSettingsInput;
};

/** How the provider reaches a host over SSH. */
export const SshSettings: z.ZodType<SshSettingsInput> = z.lazy(() => z.object({
  ...sshFields,
  bastion: SshSettings.optional(),
}).strict().superRefine((s, ctx) => {
  const pins = [s.hostKey, s.knownHosts, s.knownHostsPath].filter((x) => x !== undefined).length;
  if (pins === 0 && !s.insecureSkipHostKeyVerification) {
    ctx.addIssue({ code: "custom", message: "no host key to verify: set hostKey, knownHosts or knownHostsPath (insecureSkipHostKeyVerification: true turns verification off; not recommended)" });
  }
  if (pins > 1) ctx.addIssue({ code: "custom", path: ["hostKey"], message: "set only one of hostKey, knownHosts, knownHostsPath" });
  if (!s.privateKey && !s.privateKeyPath && !s.password && s.agent === undefined) {
    ctx.addIssue({ code: "custom", message: "no way to log in: set privateKey, privateKeyPath, password or agent" });
  }
}));

/** The secret fields of SshSettings: the SDK moves them into the resource's secret `credentials` input. */
export const CREDENTIAL_FIELDS = ["privateKey", "passphrase", "password"] as const;

export const ResourceHost = z.object({
  /** The host's name, as endpoints refer to it. */
  name: hostName,
  /** Packet filter. @default "nftables" */
  backend: z.enum(["nftables", "iptables"]).optional(),
  ssh: SshSettings,
  /**
   * Read this host's endpoints from its Docker daemon (its running containers) over its SSH
   * session, live, in every `check`: `pulumi preview` shows the rules for the containers that run
   * now, and `up` applies what the preview showed (the `discovered` output). @default none
   */
  discover: Host.shape.discover,
}).strict();
export type ResourceHost = z.infer<typeof ResourceHost>;

const model = ModelSchema.shape;

/** Everything a Network resource takes (after the provider has merged `credentials` back into `hosts`). */
/**
 * A Rancher 1.x server whose network gets `defaultPolicyAction` and `policy`
 * (`PUT {url}/v2-beta/projects/{project}/networks/{network}`, API key basic auth).
 */
export const RancherInput = z.object({
  /** Rancher server URL, e.g. `https://rancher.example:8443` (no credentials in it). */
  url: z.string().url("url must be a URL such as https://rancher.example:8443"),
  /** Environment (project) id, e.g. `1a5`. */
  project: z.string().regex(/^[0-9a-z]+$/i, "a Rancher project id is letters and digits, e.g. 1a5"),
  /** Network id, e.g. `1n5`. */
  network: z.string().regex(/^[0-9a-z]+$/i, "a Rancher network id is letters and digits, e.g. 1n5"),
  /** API access key. Secret. */
  accessKey: secretText("accessKey"),
  /** API secret key. Secret. */
  secretKey: secretText("secretKey"),
  /** PEM CA bundle for an https URL. @default the system's roots */
  caPem: z.string().min(1).optional(),
  /** Time allowed for one request. @default 30000 */
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  /**
   * Accept an `http://` url: the API key pair and the policy travel in clear text. For a loopback
   * test server only. @default false
   */
  insecureAllowHttp: z.boolean().optional(),
}).strict();
export type RancherInput = z.infer<typeof RancherInput>;

/** The secret fields of RancherInput: the SDK moves them into the secret `rancherCredentials` input. */
export const RANCHER_CREDENTIAL_FIELDS = ["accessKey", "secretKey"] as const;

export const NetworkInputs = z.object({
  /** Names the network; the hosts' table is derived from it. @default the resource name */
  name: model.name,
  /** Hosts whose packet filters enforce the policies. @default [] (a Network needs hosts, a rancher target, or both) */
  hosts: z.array(ResourceHost).default([]),
  /** Also write the Rancher policy (`defaultPolicyAction`, `policy`) to this Rancher network. */
  rancher: RancherInput.optional(),
  endpoints: model.endpoints,
  namespaces: model.namespaces,
  /** Rancher: what happens to traffic no rule matches. @default "allow" */
  defaultPolicyAction: RancherAction.optional(),
  /** Rancher: ordered policy rules. */
  policy: z.array(RancherRule).optional(),
  /** Calico v1 profiles enforced on the hosts. */
  profiles: model.profiles,
  /** Calico selector policies enforced on the hosts. */
  policies: model.policies,
  /** Kubernetes NetworkPolicies enforced on the hosts. */
  networkPolicies: model.networkPolicies,
  /** Seconds after which a host restores its previous rules unless the apply was confirmed. @default 20 */
  rollbackTimerSec: z.number().int().min(5).max(3600).optional(),
  /** Hosts handled at once. @default 8 */
  concurrency: z.number().int().min(1).max(256).optional(),
  /**
   * Expectations the policy must meet (as `netpol test` reads them): a preview fails, touching no
   * host, when one does not hold. @default [] (none)
   */
  expect: Expectations.optional(),
}).strict().superRefine((n, ctx) => {
  if (n.hosts.length === 0 && n.rancher === undefined) {
    ctx.addIssue({ code: "custom", path: ["hosts"], message: "a Network needs hosts to enforce its policies on, a rancher target to write them to, or both" });
  }
});
export type NetworkInputs = z.infer<typeof NetworkInputs>;

/** A cluster to write a document to; kubeconfig text is secret. */
export const ClusterInput = ClusterSettings.extend({
  /**
   * Kubeconfig text (instead of a file). Secret. Changing it replaces the object only when its
   * context now resolves to another API server; a new token, certificate or CA is an update.
   */
  kubeconfigContent: z.string().min(1).optional(),
  /** Server-side apply field manager. @default "pulumi-netpolicy" */
  fieldManager: z.string().min(1).max(128).optional(),
  /**
   * Take over fields another field manager owns (e.g. after a `kubectl edit`) instead of failing
   * with 409 Conflict. @default false
   */
  force: z.boolean().optional(),
});
export type ClusterInput = z.infer<typeof ClusterInput>;

/*
 * The inputs of Profile, Policy and NetworkPolicy are their document (CalicoProfile, CalicoPolicy,
 * NetworkPolicyDoc) plus an optional `cluster`; the provider checks the two parts apart, because a
 * document schema with refinements cannot be extended.
 */
export { CalicoPolicy, CalicoProfile, NetworkPolicyDoc };
