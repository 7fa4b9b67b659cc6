/** What a Network registers: inputs as the provider expects them, credentials split off. */
import * as pulumi from "@pulumi/pulumi";
import { find, recordRegistrations, registeredAll, secret } from "./mocks";

beforeAll(recordRegistrations);

describe("Network", () => {
  it("credentials leave hosts for the secret `credentials` input; resources become documents", async () => {
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
    await registeredAll(network);
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

  it("with a rancher target: the key pair leaves `rancher` for the secret `rancherCredentials`; hosts may be left out", async () => {
    const sdk = await import("../../sdk");
    const network = new sdk.Network("rancher-net", {
      rancher: { url: "http://rancher.example:8080", project: "1a5", network: "1n5", accessKey: pulumi.secret("AK"), secretKey: pulumi.secret("SK") },
      defaultPolicyAction: "deny",
      policy: [sdk.rancher.withinStack()],
    });
    await registeredAll(network);
    const inputs = find("rancher-net").inputs;
    expect(inputs.rancher).toEqual({ url: "http://rancher.example:8080", project: "1a5", network: "1n5" });
    expect(inputs.rancherCredentials).toEqual(secret({ accessKey: "AK", secretKey: "SK" }));
    expect(inputs.hosts).toEqual([]);
  });
});
