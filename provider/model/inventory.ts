/** Hosts (where rules are enforced), endpoints (container / pod interfaces) and namespaces. */
import { z } from "zod";
import { identifier, ipAddress, labels, portName, portNumber, protocolName, safeName } from "./common";

/** The patterns of the inventory's names, shared with the endpoints' fast path (endpoint-fast-path.ts). */
export const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const PROFILE_ID = /^[A-Za-z0-9_.-]{1,128}$/;

const hostName = z.string().regex(HOST_NAME,
  "a host name must be 1-63 letters, digits, '_', '.' and '-', starting and ending with a letter or digit");

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

export interface SshConnectionInput {
  host: string;
  port?: number;
  user?: string;
  privateKeyPath?: string;
  privateKeyEnv?: string;
  passphraseEnv?: string;
  agent?: boolean;
  passwordEnv?: string;
  hostKey?: string;
  knownHostsPath?: string;
  insecureSkipHostKeyVerification?: boolean;
  sudo?: boolean;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  bastion?: SshConnectionInput;
}

/**
 * A sha256 host key fingerprint: 43 base64 characters as `ssh-keygen -l` prints them (a 32-byte
 * digest, so the last one carries 4 bits), or the same with the padding `=` other tools print.
 */
export const SHA256_FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048])=?$/;

/** A pinned host key: a `SHA256:…` fingerprint or an OpenSSH public key line. */
export const hostKeyPin = z.string().refine(
  (pin) => SHA256_FINGERPRINT.test(pin) || /^(ssh|ecdsa)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(pin),
  'must be an OpenSSH fingerprint ("SHA256:" and 43 characters, as ssh-keygen -l prints it) or a public key line ("ssh-ed25519 AAAA…")',
);

/**
 * How to reach a host over SSH, as a model file writes it. Secrets are never written in the file:
 * keys come from a path or an environment variable, passwords from an environment variable.
 */
export const SshConnection: z.ZodType<SshConnectionInput> = z.lazy(() => z.object({
  /** Address or DNS name of the host's sshd. */
  host: z.string().regex(/^[A-Za-z0-9:.\-\[\]]{1,253}$/, "must be an IP address or DNS name"),
  /** @default 22 */
  port: portNumber.optional(),
  /** @default "root" */
  user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "must be a valid login name").optional(),
  privateKeyPath: safeName("privateKeyPath", 4096).optional(),
  privateKeyEnv: envName.optional(),
  passphraseEnv: envName.optional(),
  /** Use the ssh-agent at SSH_AUTH_SOCK. */
  agent: z.boolean().optional(),
  passwordEnv: envName.optional(),
  /** Pinned host key: an OpenSSH `SHA256:…` fingerprint or a public key line. */
  hostKey: hostKeyPin.optional(),
  knownHostsPath: safeName("knownHostsPath", 4096).optional(),
  /** Skips host key verification. Only for throwaway test machines. */
  insecureSkipHostKeyVerification: z.boolean().optional(),
  /** Run commands through `sudo -n` (for a non-root user). */
  sudo: z.boolean().optional(),
  connectTimeoutMs: z.number().int().min(100).max(600_000).optional(),
  commandTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  /** SSH keepalive interval; 0 disables. @default 15000 */
  keepaliveIntervalMs: z.number().int().min(0).max(600_000).optional(),
  bastion: SshConnection.optional(),
}).strict());

export const Host = z.object({
  name: hostName,
  /** @default "nftables" */
  backend: z.enum(["nftables", "iptables"]).optional(),
  ssh: SshConnection.optional(),
  /**
   * Read this host's endpoints from its Docker daemon (its running containers) over its SSH
   * session, live, before every plan, apply, reach and explain. They are added to the endpoints
   * written in the model; `netpol discover` prints them. @default none (only written endpoints)
   */
  discover: z.enum(["docker"], { errorMap: () => ({ message: 'discover must be "docker" (or omitted)' }) }).optional(),
}).strict();
export type Host = z.infer<typeof Host>;

export const NamedPort = z.object({
  name: portName,
  port: portNumber,
  /** @default "TCP" */
  protocol: protocolName.optional(),
}).strict();

export const Endpoint = z.object({
  /** Unique; the name used by `reach` and `explain`. */
  name: identifier("an endpoint name"),
  ips: z.array(ipAddress).min(1, "an endpoint needs at least one IP address"),
  /** The host whose packet filter enforces this endpoint's rules. */
  host: hostName.optional(),
  namespace: z.string().regex(NAMESPACE_NAME, "a namespace must be a DNS label (lowercase letters, digits, '-')").optional(),
  labels: labels.optional(),
  ports: z.array(NamedPort).optional(),
  stack: identifier("a stack name").optional(),
  service: identifier("a service name").optional(),
  /** Rancher links, as `stack/service`. */
  links: z.array(identifier("a link")).optional(),
  /** Calico profiles, in order. */
  profiles: z.array(z.string().regex(PROFILE_ID, "a profile id is 1-128 letters, digits, '_', '.', '-'")).optional(),
}).strict();
export type Endpoint = z.infer<typeof Endpoint>;

export const Namespace = z.object({
  name: z.string().regex(NAMESPACE_NAME, "a namespace must be a DNS label (lowercase letters, digits, '-')"),
  labels: labels.optional(),
  /** The legacy namespace isolation of `net.beta.kubernetes.io/network-policy`. */
  isolation: z.literal("DefaultDeny", { errorMap: () => ({ message: 'isolation must be "DefaultDeny" (or omitted)' }) }).optional(),
}).strict();
export type Namespace = z.infer<typeof Namespace>;

export { safeName };
