/** Inputs used by the resource tests: a two-host Rancher network with fake SSH settings. */
export const HOST_KEY = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
export const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-0123456789\n-----END OPENSSH PRIVATE KEY-----";

export function networkInputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "shop",
    hosts: [
      { name: "h1", ssh: { host: "10.0.0.1", hostKey: HOST_KEY } },
      { name: "h2", ssh: { host: "10.0.0.2", hostKey: HOST_KEY, user: "ops", sudo: true } },
    ],
    credentials: { h1: { privateKey: PRIVATE_KEY }, h2: { password: "pa55word-secret" } },
    endpoints: [
      { name: "web-1", host: "h1", ips: ["10.44.1.10"], stack: "shop", service: "web", labels: { tier: "web" } },
      { name: "db-1", host: "h2", ips: ["10.44.2.10"], stack: "shop", service: "db", labels: { tier: "db" } },
      { name: "admin-1", host: "h1", ips: ["10.44.1.20"], stack: "ops", service: "admin" },
    ],
    defaultPolicyAction: "deny",
    policy: [{ within: "stack", action: "allow" }],
    ...overrides,
  };
}

export const SECRETS = [PRIVATE_KEY, "not-a-real-key-0123456789", "pa55word-secret"];
