import { parseAddress } from "../../provider/model/net";

describe("parseAddress: dotted quads", () => {
  test.each([
    ["0.0.0.0", 0n],
    ["10.64.1.2", 0x0a400102n],
    ["255.255.255.255", 0xffffffffn],
    ["192.168.0.10", 0xc0a8000an],
  ])("%s is IPv4 %s", (text, value) => {
    expect(parseAddress(text)).toEqual({ family: 4, value });
  });

  test.each([
    "", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "1.2.3.256", "1.2.3.04", "01.2.3.4", "00.1.2.3",
    "1.2.3.1000", "1.2.3.4 ", " 1.2.3.4", "1.2.3.+4", "1.2.3.0x1", "1.2.3.\u0663", "1.2.3.4\n",
  ])("%j is not an address", (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  test("an IPv6 address ending in a dotted quad reads the quad the same way", () => {
    expect(parseAddress("::ffff:10.64.1.2")).toEqual({ family: 6, value: 0xffff0a400102n });
    expect(parseAddress("::ffff:10.64.1.02")).toBeUndefined();
  });
});
