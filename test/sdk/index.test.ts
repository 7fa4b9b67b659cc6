/** The package's public values, and the file each resource class lives in. */
import * as pulumi from "@pulumi/pulumi";
import * as sdk from "../../sdk";
import * as network from "../../sdk/network";
import * as networkPolicy from "../../sdk/network-policy";
import * as policy from "../../sdk/policy";
import * as profile from "../../sdk/profile";

describe("sdk/index", () => {
  it("exports exactly the public values", () => {
    expect(Object.keys(sdk).sort()).toEqual(["Network", "NetworkPolicy", "Policy", "Profile", "kubernetesPorts", "ports", "rancher", "stackConfig"]);
  });

  it.each<[string, Record<string, unknown>, keyof typeof sdk]>([
    ["sdk/network.ts", network, "Network"],
    ["sdk/network-policy.ts", networkPolicy, "NetworkPolicy"],
    ["sdk/policy.ts", policy, "Policy"],
    ["sdk/profile.ts", profile, "Profile"],
  ])("%s exports %s, a dynamic resource, and the index re-exports it", (_file, module, name) => {
    const cls = module[name];
    expect(typeof cls).toBe("function");
    expect((cls as { prototype: unknown }).prototype).toBeInstanceOf(pulumi.dynamic.Resource);
    expect(sdk[name]).toBe(cls);
  });
});
