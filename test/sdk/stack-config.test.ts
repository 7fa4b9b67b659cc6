import { stackConfig } from "../../sdk";

describe("stackConfig.place", () => {
  const endpoints = [{ name: "a", ips: ["10.0.0.1"], host: "h1" }, { name: "b", ips: ["10.0.0.2"], host: "h1" }];
  it("moves the named endpoints and keeps the rest", () => {
    expect(stackConfig.place(endpoints, { b: { host: "h2", ips: ["192.0.2.9"] } })).toEqual([endpoints[0], { name: "b", ips: ["192.0.2.9"], host: "h2" }]);
    expect(stackConfig.place(endpoints, undefined)).toEqual(endpoints);
  });
  it("refuses names that are not endpoints", () => {
    expect(() => stackConfig.place(endpoints, { c: { host: "h2" } })).toThrow("placement names endpoints that do not exist: c");
  });
});
