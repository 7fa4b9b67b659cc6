/** What a Profile registers. */
import { find, recordRegistrations, registeredAll, secret } from "./mocks";

beforeAll(recordRegistrations);

describe("Profile", () => {
  it("a cluster target is secret; the id travels as `profileId`", async () => {
    const sdk = await import("../../sdk");
    const profile = new sdk.Profile("p-cluster", { id: "WEB", cluster: { kubeconfigContent: "apiVersion: v1", force: true } });
    await registeredAll(profile);
    expect(find("p-cluster").inputs.cluster).toEqual(secret({ kubeconfigContent: "apiVersion: v1", force: true }));
    expect(find("p-cluster").inputs).toMatchObject({ profileId: "WEB" });
  });
});
