/** What the SDK classes register: inputs as the providers expect them, credentials split off. */
import * as pulumi from "@pulumi/pulumi";

const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

type Registered = { type: string; name: string; inputs: Record<string, unknown> };
const registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      return { id: `${args.name}-id`, state: { ...args.inputs, document: args.inputs.profileId ? { id: args.inputs.profileId } : undefined } };
    },
    call: () => ({}),
  }, "sdk-test", "dev", false);
});

function find(name: string): Registered {
  const r = registered.find((x) => x.name === name);
  if (!r) throw new Error(`${name} was not registered: ${registered.map((x) => x.name).join(", ")}`);
  return r;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe("SDK resources", () => {
  it("Network: credentials leave hosts for the secret `credentials` input; resources become documents", async () => {
    const sdk = await import("../../sdk");
    const web = new sdk.Profile("web", { id: "WEB", inbound_rules: [{ action: "allow" }] });
    const network = new sdk.Network("net", {
      hosts: [
        { name: "h1", ssh: { host: "10.0.0.1", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", privateKey: pulumi.secret("KEY"), bastion: { host: "10.0.0.9", password: pulumi.secret("PW"), insecureSkipHostKeyVerification: true } } },
        { name: "h2", backend: "iptables", ssh: { host: "10.0.0.2", knownHosts: "10.0.0.2 ssh-ed25519 AAAA", agent: true } },
      ],
      endpoints: [{ name: "e", ips: ["10.1.0.1"], host: "h1", profiles: ["WEB"] }],
      profiles: [web, { id: "OTHER" }],
      policy: [sdk.rancher.withinStack()],
    });
    await new Promise<void>((resolve) => network.urn.apply(() => resolve()));
    await settle();
    const inputs = find("net").inputs;
    expect(find("net").type).toBe("pulumi-nodejs:dynamic/netpol:Network");
    expect(inputs.name).toBe("net");
    expect(inputs.hosts).toEqual([
      { name: "h1", ssh: { host: "10.0.0.1", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", bastion: { host: "10.0.0.9", insecureSkipHostKeyVerification: true } } },
      { name: "h2", backend: "iptables", ssh: { host: "10.0.0.2", knownHosts: "10.0.0.2 ssh-ed25519 AAAA", agent: true } },
    ]);
    expect(inputs.credentials).toEqual(secret({ h1: { privateKey: "KEY", bastion: { password: "PW" } } }));
    expect(inputs.profiles).toEqual([{ id: "WEB" }, { id: "OTHER" }]);
    expect(find("web").inputs).toMatchObject({ profileId: "WEB", inbound_rules: [{ action: "allow" }] });
    expect(find("web").inputs).not.toHaveProperty("id");
  });

  it("NetworkPolicy: apiVersion and kind default; a cluster target is secret", async () => {
    const sdk = await import("../../sdk");
    const np = new sdk.NetworkPolicy("np", { metadata: { name: "deny-all" }, spec: { podSelector: {} }, cluster: { kubeconfigContent: "apiVersion: v1" } });
    await new Promise<void>((resolve) => np.urn.apply(() => resolve()));
    await settle();
    expect(find("np").inputs).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny-all" } });
    expect(find("np").inputs.cluster).toEqual(secret({ kubeconfigContent: "apiVersion: v1" }));
  });

  it("Profile and Policy: a cluster target is secret; the outputs of a cluster push are registered", async () => {
    const sdk = await import("../../sdk");
    const profile = new sdk.Profile("p-cluster", { id: "WEB", cluster: { kubeconfigContent: "apiVersion: v1", force: true } });
    const policy = new sdk.Policy("pol-cluster", { name: "allow-db", selector: "role == 'db'", cluster: { kubeconfig: "/etc/kube/config", context: "prod" } });
    await Promise.all([profile, policy].map((r) => new Promise<void>((resolve) => r.urn.apply(() => resolve()))));
    await settle();
    expect(find("p-cluster").inputs.cluster).toEqual(secret({ kubeconfigContent: "apiVersion: v1", force: true }));
    expect(find("p-cluster").inputs).toMatchObject({ profileId: "WEB" });
    expect(find("pol-cluster").inputs.cluster).toEqual(secret({ kubeconfig: "/etc/kube/config", context: "prod" }));
    expect(find("pol-cluster").inputs).toMatchObject({ name: "allow-db", selector: "role == 'db'" });
  });

  it("Network with a rancher target: the key pair leaves `rancher` for the secret `rancherCredentials`; hosts may be left out", async () => {
    const sdk = await import("../../sdk");
    const network = new sdk.Network("rancher-net", {
      rancher: { url: "http://rancher.example:8080", project: "1a5", network: "1n5", accessKey: pulumi.secret("AK"), secretKey: pulumi.secret("SK") },
      defaultPolicyAction: "deny",
      policy: [sdk.rancher.withinStack()],
    });
    await new Promise<void>((resolve) => network.urn.apply(() => resolve()));
    await settle();
    const inputs = find("rancher-net").inputs;
    expect(inputs.rancher).toEqual({ url: "http://rancher.example:8080", project: "1a5", network: "1n5" });
    expect(inputs.rancherCredentials).toEqual(secret({ accessKey: "AK", secretKey: "SK" }));
    expect(inputs.hosts).toEqual([]);
  });
});
