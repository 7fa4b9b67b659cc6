/** The Network resource's `expect`: check (and so a preview) fails when the policy breaks one. */
import { checkNetwork } from "../../provider/resources/network-operations";
import { networkInputs } from "./fixtures";

describe("Network expect", () => {
  test("expectations that hold: no failure, rules rendered", () => {
    const { inputs, failures } = checkNetwork(networkInputs({ expect: [
      { name: "web reaches the database", from: { labels: { tier: "web" } }, to: "db-1", probe: "tcp/5432", verdict: "allow" },
      { name: "nothing else reaches the database", from: { not: { labels: { tier: "web" } } }, to: "db-1", ports: ["tcp", "udp"], verdict: "deny" },
    ] }));
    expect(failures).toEqual([]);
    expect(Object.keys(inputs.rules as object)).toEqual(["h1", "h2"]);
  });

  test("a broken expectation fails check, naming it, the flow and the deciding rule", () => {
    const { failures } = checkNetwork(networkInputs({ expect: [
      { from: "web-1", to: "db-1", probe: "tcp/5432", verdict: "allow" },
      { name: "admin reaches the database", from: "admin-1", to: "db-1", probe: "tcp/5432", verdict: "allow" },
    ] }));
    expect(failures).toEqual([{
      property: "expect[1]",
      reason: "the policy breaks an expectation: admin reaches the database: admin-1 → db-1 tcp/5432: expected allow, denied by default deny (network.defaultPolicyAction)",
    }]);
  });

  test("a malformed expectation is a schema failure with its path", () => {
    const { failures } = checkNetwork(networkInputs({ expect: [{ from: "web-1", to: "db-1", verdict: "allow" }] }));
    expect(failures).toHaveLength(1);
    expect(failures[0].property).toContain("expect[0]");
    expect(failures[0].reason).toContain("give either probe or ports");
  });
});
