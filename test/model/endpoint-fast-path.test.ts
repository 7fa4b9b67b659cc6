/**
 * The endpoints' fast path agrees with zod: what it accepts, zod accepts and returns the same
 * (keys in the same order); what zod refuses, it refuses (and parseModel's error stays zod's).
 */
import { fastEndpoints } from "../../provider/model/endpoint-fast-path";
import { Endpoint } from "../../provider/model/inventory";
import { InputError, issuesFromZod } from "../../provider/model/errors";
import { ModelSchema, parseModel } from "../../provider/model/model";

const base = { name: "shop/web-1", ips: ["10.0.0.9"] };
const full = {
  name: "shop/web-1", ips: ["10.0.0.9", "fd00::9"], host: "h1", namespace: "shop",
  labels: { app: "web", "example.com/tier": "front", empty: "" },
  ports: [{ name: "http", port: 8080 }, { name: "dns", port: 53, protocol: "udp" }],
  stack: "shop", service: "web", links: ["shop/db"], profiles: ["WEB", "ALL_1.x"],
};
const withProto = (o: object) => Object.assign(Object.create(null) as object, o);
const ownProto = JSON.parse('{"name":"e","ips":["10.0.0.9"],"__proto__":{"x":1}}') as unknown;

/** [what, endpoint] — each is checked against zod, whichever way zod decides. */
const cases: [string, unknown][] = [
  ["name and address only", base],
  ["every field", full],
  ["keys in another order", { profiles: ["WEB"], ips: ["10.0.0.1"], name: "e", labels: { b: "2", a: "1" } }],
  ["protocol in lower case becomes upper case", { ...base, ports: [{ protocol: "sctp", port: 9, name: "x9" }] }],
  ["a null-prototype object", withProto(base)],
  ["empty lists", { ...base, ports: [], links: [], profiles: [] }],
  // mistakes and hostile inputs: zod refuses each
  ["no address", { ...base, ips: [] }],
  ["address as a string", { ...base, ips: "10.0.0.9" }],
  ["a bad address", { ...base, ips: ["10.0.0.256"] }],
  ["a leading zero", { ...base, ips: ["10.0.0.09"] }],
  ["a CIDR as an address", { ...base, ips: ["10.0.0.0/24"] }],
  ["a number as an address", { ...base, ips: [167772169] }],
  ["a hole in the list", { ...base, ips: [, "10.0.0.9"] }], // eslint-disable-line no-sparse-arrays
  ["name missing", { ips: ["10.0.0.9"] }],
  ["name with a space", { ...base, name: "web 1" }],
  ["name ending in '/'", { ...base, name: "web/" }],
  ["name too long", { ...base, name: "a".repeat(254) }],
  ["name as a number", { ...base, name: 7 }],
  ["unknown key", { ...base, lables: { a: "b" } }],
  ["an own __proto__ key", ownProto],
  ["a key set to undefined", { ...base, host: undefined }],
  ["host with a shell character", { ...base, host: "h1;reboot" }],
  ["namespace in upper case", { ...base, namespace: "Shop" }],
  ["label key with two slashes", { ...base, labels: { "a/b/c": "x" } }],
  ["label value with a space", { ...base, labels: { app: "w eb" } }],
  ["label value as a number", { ...base, labels: { app: 1 } }],
  ["labels as a list", { ...base, labels: ["app=web"] }],
  ["labels as null", { ...base, labels: null }],
  ["a label value of 64 characters", { ...base, labels: { app: "a".repeat(64) } }],
  ["port out of range", { ...base, ports: [{ name: "http", port: 70000 }] }],
  ["port as a string", { ...base, ports: [{ name: "http", port: "80" }] }],
  ["port not whole", { ...base, ports: [{ name: "http", port: 80.5 }] }],
  ["port NaN", { ...base, ports: [{ name: "http", port: NaN }] }],
  ["port name with '--'", { ...base, ports: [{ name: "a--b", port: 80 }] }],
  ["port name digits only", { ...base, ports: [{ name: "80", port: 80 }] }],
  ["port with an unknown key", { ...base, ports: [{ name: "http", port: 80, proto: "TCP" }] }],
  ["port protocol ICMP", { ...base, ports: [{ name: "http", port: 80, protocol: "icmp" }] }],
  ["port protocol undefined", { ...base, ports: [{ name: "http", port: 80, protocol: undefined }] }],
  ["stack with a space", { ...base, stack: "my stack" }],
  ["link as an object", { ...base, links: [{ stack: "a" }] }],
  ["profile id with a slash", { ...base, profiles: ["a/b"] }],
  ["profiles as a string", { ...base, profiles: "WEB" }],
  ["the endpoint as a string", "web"],
  ["the endpoint as null", null],
  ["the endpoint as a list", [base]],
];

describe("endpoints' fast path", () => {
  test.each(cases)("%s: agrees with zod", (_what, input) => {
    const fast = fastEndpoints([input]);
    const zod = Endpoint.safeParse(input);
    if (fast !== undefined) {
      expect(zod.success).toBe(true);
      // JSON text compares the keys' order as well as the values
      expect(JSON.stringify(fast[0])).toBe(JSON.stringify(zod.success ? zod.data : undefined));
      expect(fast[0]).toStrictEqual(zod.success ? { ...zod.data } : undefined);
    }
    if (!zod.success) expect(fast).toBeUndefined();
  });

  test("takes the plain shapes itself (the path is not dead)", () => {
    expect(fastEndpoints([base, full, withProto(base)])).toHaveLength(3);
    expect(fastEndpoints([{ ...base, ports: [{ name: "http", port: 80, protocol: "tcp" }] }])?.[0].ports).toEqual([{ name: "http", port: 80, protocol: "TCP" }]);
  });

  test("one bad endpoint among good ones sends the list to zod", () => {
    expect(fastEndpoints([base, { ...base, name: "web 1" }, full])).toBeUndefined();
  });

  const model = (endpoints: unknown[], more: object = {}) => ({ hosts: [{ name: "h1" }], endpoints, ...more });
  const errorOf = (doc: unknown) => {
    try {
      parseModel(doc);
    } catch (e) {
      return (e as Error).message;
    }
    return "accepted";
  };

  test.each([
    ["a bad endpoint", model([base, { ...base, name: "x", ips: ["10.0.0.300"] }])],
    ["good endpoints and a bad policy", model([base], { network: { policy: [{ within: "stacks", action: "allow" }] } })],
    ["good endpoints and an unknown top-level key", model([base], { endpoint: [] })],
  ])("parseModel with %s: zod's error", (_what, doc) => {
    const zod = ModelSchema.safeParse(doc);
    expect(zod.success).toBe(false);
    if (!zod.success) expect(errorOf(doc)).toBe(new InputError("model", issuesFromZod(zod.error, ModelSchema, doc)).message);
  });

  test("parseModel returns what zod returns", () => {
    const doc = model([base, { ...full, name: "shop/web-2", ips: ["10.0.0.10"] }], { namespaces: [{ name: "shop" }], profiles: [{ id: "WEB" }, { id: "ALL_1.x" }] });
    const zod = JSON.stringify(ModelSchema.parse(doc));
    expect(JSON.stringify(parseModel(doc))).toBe(zod);
  });
});
