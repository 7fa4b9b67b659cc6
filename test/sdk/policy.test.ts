/** What a Policy registers. */
import { find, recordRegistrations, registeredAll, secret } from "./mocks";

beforeAll(recordRegistrations);

describe("Policy", () => {
  it("a cluster target is secret; the document fields are registered as given", async () => {
    const sdk = await import("../../sdk");
    const policy = new sdk.Policy("pol-cluster", { name: "allow-db", selector: "role == 'db'", cluster: { kubeconfig: "/etc/kube/config", context: "prod" } });
    await registeredAll(policy);
    expect(find("pol-cluster").inputs.cluster).toEqual(secret({ kubeconfig: "/etc/kube/config", context: "prod" }));
    expect(find("pol-cluster").inputs).toMatchObject({ name: "allow-db", selector: "role == 'db'" });
  });
});
