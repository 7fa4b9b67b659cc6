/**
 * Two Docker hosts as Docker installs them (172.17.0.0/16, masquerade) and a plain host: every
 * affected host gets its own masquerade warning in `plan`, `apply`, `status` and the Network's
 * outputs, each naming that host's NAT rule and the fix. Then one Docker host becomes unreachable
 * (its sshd stopped): `plan`, `apply` and the Network's check fail naming that host, and no host's
 * rules change. Needs root and docker.io; under CI=true a machine without them fails here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { ModelInput } from "../../provider/model/model";
import type { AppliedHost } from "../../provider/resources/network-operations";
import { checkNetworkLive, createNetwork, deleteNetwork } from "../../provider/resources/network-operations";
import { Lab, requireDockerLabPrerequisites } from "../lab/lab";
import { runCli } from "../support/cli";

const DOCKER_RULE = '"-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE" (iptables -t nat)';
const warning = (host: string, container: string): string =>
  `${host}: traffic from endpoint(s) ${container} to other hosts is masqueraded by ${DOCKER_RULE}: the other hosts see ${host}'s address instead`;
const listen = { tcp: [80] };
const shop = (service: string) => ({ "com.docker.compose.project": "shop", "com.docker.compose.service": service });

let lab: Lab;
let dir: string;

beforeAll(async () => {
  await requireDockerLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "d2", docker: true }, { name: "h3" }],
    endpoints: [{ name: "ext", host: "h3", listen }],
    containers: [
      { name: "web", host: "d1", labels: shop("web"), listen },
      { name: "api", host: "d2", labels: shop("api"), listen },
    ],
    dockerTopology: "default",
    ipv6: false,
  });
  // Both daemons hand out 172.17.0.2 first; api moves to another address so the two do not clash.
  await lab.restartContainer("api", { newAddress: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-masq-hosts-"));
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function ssh(host: string) {
  const s = lab.hostSsh(host);
  return { host: s.host, port: s.port, user: s.user, privateKeyPath: "./id_lab", hostKey: s.hostKey, connectTimeoutMs: 3000 };
}

/** Stack isolation over d1 (discovered), d2 (discovered) and h3 (ext, written by hand). */
function writeModel(name: string): string {
  const model: ModelInput = {
    name,
    hosts: [
      { name: "d1", discover: "docker", ssh: ssh("d1") },
      { name: "d2", discover: "docker", ssh: ssh("d2") },
      { name: "h3", ssh: ssh("h3") },
    ],
    endpoints: [{ name: "ext", host: "h3", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
  };
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(model));
  return file;
}

function networkInputs(name: string) {
  const s = (host: string) => {
    const { privateKeyPath: _path, ...rest } = ssh(host);
    return rest;
  };
  return {
    name,
    hosts: [{ name: "d1", discover: "docker", ssh: s("d1") }, { name: "d2", discover: "docker", ssh: s("d2") }, { name: "h3", ssh: s("h3") }],
    credentials: Object.fromEntries(["d1", "d2", "h3"].map((h) => [h, { privateKey: lab.clientKey.privateKey }])),
    endpoints: [{ name: "ext", host: "h3", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
    defaultPolicyAction: "deny",
    policy: [{ within: "stack", action: "allow" }],
  };
}

/** What a stopped sshd reads as: the host, then the cause. */
const UNREACHABLE_D2 = /host d2: .*(connection refused|no SSH session|no SSH handshake)/s;

const rulesOf = async (host: string): Promise<string> => (await lab.exec(host, ["nft", "-s", "list", "ruleset"])).stdout; // -s: without counters

test("plan, apply and status warn once for each masquerading host (d1 for web, d2 for api), naming its NAT rule and the fix; h3 gets none", async () => {
  const file = writeModel("masq-two");
  for (const command of ["plan", "apply", "status"]) {
    const r = await runCli([command, file]);
    expect({ command, code: r.code }).toEqual({ command, code: 0 });
    const warnings = r.out.split("\n").filter((l) => l.includes("warning:") && l.includes("masqueraded"));
    expect({ command, warnings: warnings.length }).toEqual({ command, warnings: 2 });
    for (const [host, container] of [["d1", "web"], ["d2", "api"]]) {
      const line = warnings.find((w) => w.includes(`warning: ${host}:`));
      expect({ command, host, line }).toEqual({ command, host, line: expect.stringContaining(warning(host, container)) });
      expect(line).toContain('"ip-masq": false');
    }
    expect(warnings.some((w) => w.includes("h3"))).toBe(false);
  }
}, 180_000);

test("the Network's outputs carry the warning of each masquerading host (applied.d1, applied.d2), none for h3", async () => {
  const checked = await checkNetworkLive(networkInputs("masq-two-network"));
  expect(checked.failures).toEqual([]);
  const created = await createNetwork(checked.inputs);
  try {
    const applied = created.outs.applied as Record<string, AppliedHost>;
    expect(applied.d1.warnings?.filter((w) => w.includes("masqueraded"))).toEqual([expect.stringContaining(warning("d1", "web"))]);
    expect(applied.d2.warnings?.filter((w) => w.includes("masqueraded"))).toEqual([expect.stringContaining(warning("d2", "api"))]);
    expect(applied.h3.warnings).toBeUndefined();
  } finally {
    await deleteNetwork(created.outs);
  }
}, 180_000);

test("an unreachable Docker host (d2's sshd stopped): plan, apply and the Network's check fail naming d2; no host's rules change", async () => {
  const file = writeModel("masq-down");
  const before = await Promise.all(["d1", "d2", "h3"].map(rulesOf));
  await lab.stopSshd("d2");
  try {
    for (const command of ["plan", "apply"]) {
      const r = await runCli([command, file]);
      expect({ command, code: r.code }).toEqual({ command, code: 1 });
      expect(r.err).toMatch(UNREACHABLE_D2);
      expect(r.err).not.toMatch(/host d1: |host h3: /);
    }
    const checked = await checkNetworkLive(networkInputs("masq-down-network"));
    expect(checked.failures).toEqual([{ property: "hosts[1]", reason: expect.stringMatching(/\(nothing was changed\)$/) }]);
    expect(checked.failures[0].reason).toMatch(UNREACHABLE_D2);
  } finally {
    await lab.startSshd("d2");
  }
  expect(await Promise.all(["d1", "d2", "h3"].map(rulesOf))).toEqual(before);
}, 180_000);
