/**
 * Masquerade detection on real Docker hosts: Docker's default setup (172.17.0.0/16, masquerade)
 * makes the receiving host see the sending host's address, so the policy's rule for a container
 * cannot match there — measured with real packets. `netpol plan`, `apply` and `status` warn for
 * that host, naming Docker's NAT rule and the fix, on both backends, and so do the Network's
 * outputs; on the routed topology (the README's "Plain Docker hosts" recipe) nobody warns and the
 * same policy holds. Needs root and docker.io; under CI=true a machine without them fails here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { ModelInput } from "../../provider/model/model";
import type { AppliedHost } from "../../provider/resources/network-operations";
import { checkNetworkLive, createNetwork, deleteNetwork } from "../../provider/resources/network-operations";
import { LAB_IMAGE } from "../lab/docker";
import { DockerTopology, Lab, requireDockerLabPrerequisites } from "../lab/lab";
import { runCli } from "../support/cli";

const DOCKER_RULE = '"-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE" (iptables -t nat)';
const WARNING = `warning: d1: traffic from endpoint(s) web to other hosts is masqueraded by ${DOCKER_RULE}: the other hosts see d1's address instead`;
const listen = { tcp: [80] };
/** The subnet of a user network that is not masqueraded. */
const UNMASQUERADED = "172.30.5.0/24";

let dir: string;
beforeAll(async () => {
  await requireDockerLabPrerequisites();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-masquerade-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A Docker host d1 with container web (stack shop) and a plain host h2 with endpoint ext (stack shop). */
function createLab(topology: DockerTopology): Promise<Lab> {
  return Lab.create({
    hosts: [{ name: "d1", docker: true }, { name: "h2" }],
    endpoints: [{ name: "ext", host: "h2", listen }],
    containers: [{ name: "web", host: "d1", labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web" }, listen }],
    dockerTopology: topology,
    ipv6: false,
  });
}

function ssh(lab: Lab, host: string) {
  const s = lab.hostSsh(host);
  return { host: s.host, port: s.port, user: s.user, privateKeyPath: "./id_lab", hostKey: s.hostKey };
}

/** Stack isolation: only stack shop reaches ext (and web); everything else is denied. */
function writeModel(lab: Lab, name: string, backend: "nftables" | "iptables"): string {
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
  const model: ModelInput = {
    name,
    hosts: [{ name: "d1", backend, discover: "docker", ssh: ssh(lab, "d1") }, { name: "h2", backend, ssh: ssh(lab, "h2") }],
    endpoints: [{ name: "ext", host: "h2", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
    network: { defaultPolicyAction: "deny", policy: [{ within: "stack", action: "allow" }] },
  };
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(model));
  return file;
}

describe("Docker's default topology: masqueraded", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab("default");
    // The README's other way out: a user network Docker does not masquerade.
    await lab.docker("d1", ["network", "create", "--subnet", UNMASQUERADED, "-o", "com.docker.network.bridge.enable_ip_masquerade=false", "plain"]);
    await lab.docker("d1", ["run", "-d", "--name", "solo", "--network", "plain", LAB_IMAGE, "/bin/sleep", "2147483647"]);
  }, 180_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  test("without a policy, web reaches ext (masqueraded by d1)", async () => {
    expect(await lab.probe("web", "ext", "tcp/80")).toBe(true);
  });

  test("a container on a user network made with enable_ip_masquerade=false: Docker masquerades nothing of its subnet, and the warning leaves it out", async () => {
    const nat = (await lab.exec("d1", ["iptables-save", "-t", "nat"])).stdout;
    expect(nat).toContain("-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE");
    expect(nat).not.toContain(`-s ${UNMASQUERADED} `);
    const file = writeModel(lab, "masq-user-network", "nftables");
    const discovered = await runCli(["discover", file]);
    expect(discovered.out).toContain("name: solo");
    const plan = await runCli(["plan", file]);
    expect(plan.out).toContain(WARNING);
    expect(plan.out).not.toMatch(/endpoint\(s\)[^:]*solo/);
  }, 60_000);

  describe.each(["nftables", "iptables"] as const)("%s", (backend) => {
    let file: string;
    beforeAll(() => {
      file = writeModel(lab, `masq-${backend}`, backend);
    });
    afterAll(async () => {
      await runCli(["destroy", file]);
    }, 60_000);

    test("plan, apply and status warn for d1, naming Docker's NAT rule and the fix; h2 gets no warning", async () => {
      for (const command of ["plan", "apply", "status"]) {
        const r = await runCli([command, file]);
        expect({ command, code: r.code }).toEqual({ command, code: 0 });
        const warnings = r.out.split("\n").filter((l) => l.includes("warning:") && l.includes("masqueraded"));
        expect({ command, warnings: warnings.length }).toEqual({ command, warnings: 1 });
        expect(warnings[0]).toContain(WARNING);
        expect(warnings[0]).toContain('"ip-masq": false');
        expect(warnings[0]).toContain("com.docker.network.bridge.enable_ip_masquerade=false");
      }
    }, 120_000);

    test("with real packets: the rule for web on h2 never matches — ext sees d1's address, so web → ext is dropped although the policy allows it", async () => {
      expect(await lab.probe("web", "ext", "tcp/80")).toBe(false);
      const reach = await runCli(["reach", file, "--format", "json", "--probe", "tcp/80"]);
      const doc = JSON.parse(reach.out) as { probes: { matrix: Record<string, Record<string, boolean>> }[] };
      expect(doc.probes[0].matrix.web.ext).toBe(true);
    }, 60_000);
  });

  test("the Network's outputs carry the warning for d1 (applied.d1.warnings), none for h2", async () => {
    const s = (host: string) => {
      const { privateKeyPath: _path, ...rest } = ssh(lab, host);
      return rest;
    };
    const inputs = {
      name: "masq-network",
      hosts: [{ name: "d1", discover: "docker", ssh: s("d1") }, { name: "h2", ssh: s("h2") }],
      credentials: { d1: { privateKey: lab.clientKey.privateKey }, h2: { privateKey: lab.clientKey.privateKey } },
      endpoints: [{ name: "ext", host: "h2", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
      defaultPolicyAction: "deny",
      policy: [{ within: "stack", action: "allow" }],
    };
    const checked = await checkNetworkLive(inputs);
    expect(checked.failures).toEqual([]);
    const created = await createNetwork(checked.inputs);
    try {
      const applied = created.outs.applied as Record<string, AppliedHost>;
      expect(applied.d1.warnings?.filter((w) => w.includes("masqueraded"))).toEqual([expect.stringContaining(WARNING.replace(/^warning: /, ""))]);
      expect(applied.h2.warnings).toBeUndefined();
      expect(JSON.stringify(created.outs.applied)).not.toContain(lab.clientKey.privateKey.split("\n")[1]);
    } finally {
      await deleteNetwork(created.outs);
    }
  }, 120_000);
});

describe("routed topology (no masquerade, routes between the hosts): no warning, and the policy holds", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab("routed");
  }, 180_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  test.each(["nftables", "iptables"] as const)("%s: plan, apply and status print no warning; web → ext passes, as the policy says", async (backend) => {
    const file = writeModel(lab, `routed-${backend}`, backend);
    try {
      for (const command of ["plan", "apply", "status"]) {
        const r = await runCli([command, file]);
        expect({ command, code: r.code, out: r.out }).toEqual({ command, code: 0, out: expect.not.stringContaining("warning:") });
      }
      expect(await lab.probe("web", "ext", "tcp/80")).toBe(true);
    } finally {
      await runCli(["destroy", file]);
    }
  }, 120_000);
});
