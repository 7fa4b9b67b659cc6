/** What a NetworkPolicy registers. */
import { find, recordRegistrations, registeredAll, secret } from "./mocks";

beforeAll(recordRegistrations);

describe("NetworkPolicy", () => {
  it("apiVersion and kind default; a cluster target is secret", async () => {
    const sdk = await import("../../sdk");
    const np = new sdk.NetworkPolicy("np", { metadata: { name: "deny-all" }, spec: { podSelector: {} }, cluster: { kubeconfigContent: "apiVersion: v1" } });
    await registeredAll(np);
    expect(find("np").inputs).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny-all" } });
    expect(find("np").inputs.cluster).toEqual(secret({ kubeconfigContent: "apiVersion: v1" }));
  });
});
