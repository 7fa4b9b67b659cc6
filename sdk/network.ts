/** The Network resource, and how it keeps SSH and Rancher credentials in secret inputs of their own. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppliedHost } from "../provider/resources/network-operations";
import type { RancherApplied } from "../provider/deploy/rancher/target";
import { networkProvider } from "../provider/resources/network";
import { CREDENTIAL_FIELDS, NetworkInputs, RANCHER_CREDENTIAL_FIELDS, RancherInput, SshSettingsInput } from "../provider/resources/schema";
import { DeepInput, InputsOf } from "./input";
import { NetworkPolicy, NetworkPolicyDocument } from "./network-policy";
import { Policy, PolicyDocument } from "./policy";
import { Profile, ProfileDocument } from "./profile";

type Doc = z.input<typeof NetworkInputs>;
export type HostArgs = NonNullable<Doc["hosts"]>[number];
export type RancherTargetArgs = z.input<typeof RancherInput>;
export type SshArgs = SshSettingsInput;
export type EndpointArgs = NonNullable<Doc["endpoints"]>[number];
export type NamespaceArgs = NonNullable<Doc["namespaces"]>[number];
export type RancherRuleArgs = NonNullable<Doc["policy"]>[number];
export type { AppliedHost, RancherApplied };

/** The hosts (or Rancher network) a Network enforces on, the endpoints, and the policies of each dialect. */
export interface NetworkArgs {
  /**
   * Names the network; the hosts' table (`netpol_<hash>`) derives from it, so changing it replaces the network.
   * @default the resource name
   */
  name?: pulumi.Input<string>;
  /**
   * The hosts whose packet filters enforce the policies: `name`, `backend` (@default "nftables"),
   * and `ssh`: `host`, `port` (@default 22), `user` (@default "root"); a way to log in:
   * `privateKey` / `passphrase` / `password` (pass them as secrets, e.g. `config.requireSecret`;
   * the SDK keeps them in the secret `credentials` input), `privateKeyPath` or `agent` (@default
   * false); one host key source: `hostKey`, `knownHosts` or `knownHostsPath` (host keys are always
   * verified unless `insecureSkipHostKeyVerification`, @default false); `sudo` (@default false),
   * `connectTimeoutMs` (@default 10000), `commandTimeoutMs` (@default 60000), `keepaliveIntervalMs`
   * (@default 15000; 0 disables), `bastion` (the same
   * settings, for a jump host); `discover: "docker"` to take the host's running containers as
   * endpoints (@default none: see `discovered`).
   * @default [] (then a `rancher` target is required)
   */
  hosts?: DeepInput<Doc["hosts"]>;
  /**
   * Write `defaultPolicyAction` and `policy` to this Rancher 1.x network: `url`, `project` and
   * `network` ids, an API key pair `accessKey` / `secretKey` (pass them as secrets; the SDK
   * keeps them in the secret `rancherCredentials` input), `caPem` (@default the system's roots)
   * and `timeoutMs` (@default 30000). An `http://` url is refused (the key pair would travel in
   * clear text) unless `insecureAllowHttp: true`. On delete the Rancher network gets back the
   * policy it had before the first write.
   */
  rancher?: DeepInput<RancherTargetArgs>;
  /** Containers / pods: `name`, `ips`, `host`, and the stack, service, labels, namespace, ports and profiles the policies match on. */
  endpoints?: DeepInput<Doc["endpoints"]>;
  /** Kubernetes namespaces (labels for namespaceSelector, legacy `isolation: "DefaultDeny"`). */
  namespaces?: DeepInput<Doc["namespaces"]>;
  /** Rancher: what traffic no rule matches gets. @default "allow" */
  defaultPolicyAction?: DeepInput<Doc["defaultPolicyAction"]>;
  /** Rancher: ordered rules, first match wins (see `rancher.withinStack`, `rancher.groupBy`). */
  policy?: DeepInput<Doc["policy"]>;
  /** Calico profiles to enforce: `Profile` resources or plain documents. */
  profiles?: (Profile | DeepInput<ProfileDocument>)[];
  /** Calico selector policies to enforce: `Policy` resources or plain documents. */
  policies?: (Policy | DeepInput<PolicyDocument>)[];
  /** Kubernetes NetworkPolicies to enforce on the hosts: `NetworkPolicy` resources (without a cluster) or plain objects. */
  networkPolicies?: (NetworkPolicy | DeepInput<NetworkPolicyDocument>)[];
  /**
   * Seconds (5-3600) after which a host restores its previous rules unless the new ones were
   * confirmed over a fresh SSH connection.
   * @default 20
   */
  rollbackTimerSec?: pulumi.Input<number>;
  /** Hosts handled at once (1-256). @default 8 */
  concurrency?: pulumi.Input<number>;
  /**
   * Expectations the policy must meet, in the shape `netpol test` reads: `{from, to, probe | ports,
   * verdict}`, e.g. "the database is reachable from the web tier on tcp/5432, and from nothing
   * else". `check` fails — so `pulumi preview` fails, touching no host — when the policy breaks
   * one, naming it and the deciding rule. @default none
   */
  expect?: DeepInput<Doc["expect"]>;
}

type Credential = Partial<Record<(typeof CREDENTIAL_FIELDS)[number], string>> & { bastion?: Credential };

function credentialOf(ssh: SshSettingsInput): Credential | undefined {
  const own: Credential = {};
  for (const f of CREDENTIAL_FIELDS) if (ssh[f] !== undefined) own[f] = ssh[f];
  const bastion = ssh.bastion ? credentialOf(ssh.bastion) : undefined;
  if (bastion) own.bastion = bastion;
  return Object.keys(own).length > 0 ? own : undefined;
}

function withoutCredentials(ssh: SshSettingsInput): SshSettingsInput {
  const rest: SshSettingsInput = { ...ssh };
  for (const f of CREDENTIAL_FIELDS) delete rest[f];
  if (ssh.bastion) rest.bastion = withoutCredentials(ssh.bastion);
  return rest;
}

/** Splits hosts into the public settings and a secret map host name → credentials. */
function splitHosts(hosts: pulumi.Output<HostArgs[]>): { hosts: pulumi.Output<HostArgs[]>; credentials: pulumi.Output<Record<string, Credential>> } {
  const open = hosts.apply((hs) => hs.map((h) => (h.ssh ? { ...h, ssh: withoutCredentials(h.ssh) } : h)));
  const credentials = hosts.apply((hs) => Object.fromEntries(hs.flatMap((h) => {
    const c = h.ssh ? credentialOf(h.ssh) : undefined;
    return c ? [[h.name, c]] : [];
  })));
  return { hosts: pulumi.unsecret(open), credentials: pulumi.secret(credentials) };
}

/** Splits the Rancher target into its public part and the secret API key pair. */
function splitRancher(rancher: pulumi.Output<RancherTargetArgs>): { rancher: pulumi.Output<Partial<RancherTargetArgs>>; rancherCredentials: pulumi.Output<Partial<RancherTargetArgs>> } {
  const secretKeys: readonly string[] = RANCHER_CREDENTIAL_FIELDS;
  const pick = (r: RancherTargetArgs, secret: boolean) => Object.fromEntries(Object.entries(r).filter(([k]) => secretKeys.includes(k) === secret)) as Partial<RancherTargetArgs>;
  return { rancher: pulumi.unsecret(rancher.apply((r) => pick(r, false))), rancherCredentials: pulumi.secret(rancher.apply((r) => pick(r, true))) };
}

function documents<R extends pulumi.Resource & { document: pulumi.Output<unknown> }, D>(list: (R | D)[] | undefined, isResource: (x: R | D) => x is R): (pulumi.Output<unknown> | D)[] | undefined {
  return list?.map((x) => (isResource(x) ? x.document : x));
}

/**
 * A Network: hosts, the endpoints on them, and the policies to enforce there, in any mix of the
 * three dialects. Each host gets one nftables table (or iptables chains) of its own, rendered from
 * all the policies; a connection is allowed only if every dialect in use allows it, and both the
 * sender's egress and the receiver's ingress must allow. `pulumi preview --diff` shows the
 * connections a change opens (+) and closes (-) (the `access` property), then the exact rule lines
 * that change on each host (the `rules` property); `pulumi up` applies them atomically
 * per host with automatic rollback; `pulumi refresh` reports hand edits as drift. With a `rancher`
 * target the Rancher policy (`defaultPolicyAction`, `policy`) is also written to a Rancher 1.x
 * network, beside the hosts or instead of them.
 */
export class Network extends pulumi.dynamic.Resource {
  /** The table (`netpol_<hash>`) the network owns on every host. */
  declare readonly table: pulumi.Output<string>;
  /**
   * Who may reach whom: one line per allowed flow between groups of endpoints the policy treats
   * alike (`FROM → TO: PORTS`), stable for the same reachability, at most 500 lines. `check` puts
   * it among the inputs, so a preview's diff of it is the connections opened and closed.
   */
  declare readonly access: pulumi.Output<string>;
  /** The rendered rules per host name: exactly what is applied. */
  declare readonly rules: pulumi.Output<Record<string, string>>;
  /**
   * Parts of the policies that match nothing in this network (a selector, tag or label key no
   * endpoint matches, a profile no endpoint uses), as `path: why`; absent when there are none.
   * `check` puts them among the inputs, so `pulumi preview` shows them.
   */
  declare readonly warnings: pulumi.Output<string[] | undefined>;
  /**
   * The endpoints read from the Docker daemons of hosts with `discover: "docker"` (name, ips,
   * host, labels, stack/service, namespace, profiles, as `netpol discover` prints them). `check`
   * reads them live, so `pulumi preview` shows the rules for the containers that run now, and
   * `up` applies exactly those; a host that cannot be read fails the preview naming it. Absent
   * when no host discovers.
   */
  declare readonly discovered: pulumi.Output<EndpointArgs[] | undefined>;
  /**
   * Per host: backend, table, the content hash the host carries, `drift` after a refresh found a
   * change, and `warnings` when the rules may be bypassed there (a bridge with ports while
   * `net.bridge.bridge-nf-call-iptables` / `…-ip6tables` is not 1), may not match (the host
   * masquerades its endpoints' traffic to other hosts) or their allows may not pass (Docker's
   * FORWARD drop with nothing accepted in DOCKER-USER).
   */
  declare readonly applied: pulumi.Output<Record<string, AppliedHost>>;
  /** With a rancher target: the network written, the policy written, the policy it had before, and `drift` after a refresh found a change. */
  declare readonly rancherApplied: pulumi.Output<RancherApplied | undefined>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
    const split = splitHosts(pulumi.output((args.hosts ?? []) as pulumi.Input<HostArgs[]>) as pulumi.Output<HostArgs[]>);
    const rancher = args.rancher !== undefined ? splitRancher(pulumi.output(args.rancher as pulumi.Input<RancherTargetArgs>) as pulumi.Output<RancherTargetArgs>) : undefined;
    const props: InputsOf<Record<string, unknown>> = {
      ...args,
      name: args.name ?? name,
      hosts: split.hosts,
      credentials: split.credentials,
      ...(rancher ? { rancher: rancher.rancher, rancherCredentials: rancher.rancherCredentials } : {}),
      profiles: documents(args.profiles, (x): x is Profile => x instanceof Profile),
      policies: documents(args.policies, (x): x is Policy => x instanceof Policy),
      networkPolicies: documents(args.networkPolicies, (x): x is NetworkPolicy => x instanceof NetworkPolicy),
      table: undefined,
      access: undefined,
      rules: undefined,
      warnings: undefined,
      discovered: undefined,
      applied: undefined,
      rancherApplied: undefined,
    };
    super(networkProvider, name, props, opts, "netpol", "Network");
  }
}
