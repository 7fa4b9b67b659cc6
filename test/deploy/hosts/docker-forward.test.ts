/** Docker's FORWARD drop: when the host gets a warning, and what it says. */
import { dockerForwardWarnings } from "../../../provider/deploy/hosts/docker-forward";
import type { MasqueradeScope } from "../../../provider/deploy/hosts/masquerade";

const scope: MasqueradeScope = { local: [{ name: "web", ips: ["10.231.1.2"] }], remote: ["10.231.3.10"] };
const DOCKER = { policy: "DROP", dockerUser: true, userAccepts: [] };

test("Docker as installed: one warning naming the host, the cause and the fix", () => {
  const [warning, ...more] = dockerForwardWarnings("d1", DOCKER, scope);
  expect(more).toEqual([]);
  expect(warning).toMatch(/^d1: Docker's FORWARD policy is DROP and DOCKER-USER accepts nothing/);
  expect(warning).toContain("iptables -I DOCKER-USER -i eth0 -o docker0 -j ACCEPT");
});

test.each([
  ["an accept in DOCKER-USER", { ...DOCKER, userAccepts: ["-A DOCKER-USER -i transit -o docker0 -j ACCEPT"] }, scope],
  ["FORWARD policy ACCEPT", { ...DOCKER, policy: "ACCEPT" }, scope],
  ["a DROP policy that is not Docker's (no DOCKER-USER)", { ...DOCKER, dockerUser: false }, scope],
  ["no filter table read", undefined, scope],
  ["no endpoint on the host", DOCKER, { local: [], remote: ["10.231.3.10"] }],
  ["no endpoint on another host", DOCKER, { local: scope.local, remote: [] }],
])("no warning: %s", (_what, forward, s) => {
  expect(dockerForwardWarnings("d1", forward, s)).toEqual([]);
});
