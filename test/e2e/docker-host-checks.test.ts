/**
 * The checks a read makes of a real Docker host beside the network's own rules.
 *
 * Masquerade detection: Docker's default setup (172.17.0.0/16, masquerade)
 * makes the receiving host see the sending host's address, so the policy's rule for a container
 * cannot match there — measured with real packets. `netpol plan`, `apply` and `status` warn for
 * that host, naming Docker's NAT rule and the fix, on both backends, and so do the Network's
 * outputs; on the routed topology (the README's "Plain Docker hosts" recipe) nobody warns and the
 * same policy holds.
 *
 * Docker's FORWARD drop (policy DROP, as dockerd sets it when it turns IP forwarding on): without
 * an accept in DOCKER-USER, Docker drops other hosts' traffic to a container's unpublished port
 * although the network allows it (measured); plan, apply and status warn naming the fix; with the
 * accept in place nobody warns, the allow passes and the network's denies still hold. A real
 * dockerd restart puts its DOCKER-USER jump in front of an iptables host's chain (measured: the
 * deny no longer holds); status reports it as drift and apply --force restores the order. Needs root and docker.io; under CI=true a machine without them fails here.
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
function writeModel(lab: Lab, name: string, backend: "nftables" | "iptables", policy: NonNullable<ModelInput["network"]>["policy"] = [{ within: "stack", action: "allow" }]): string {
  fs.writeFileSync(path.join(dir, "id_lab"), lab.clientKey.privateKey, { mode: 0o600 });
  const model: ModelInput = {
    name,
    hosts: [{ name: "d1", backend, discover: "docker", ssh: ssh(lab, "d1") }, { name: "h2", backend, ssh: ssh(lab, "h2") }],
    endpoints: [{ name: "ext", host: "h2", ips: [lab.endpoint("ext").ipv4], stack: "shop", service: "ext" }],
    network: { defaultPolicyAction: "deny", policy },
  };
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(model));
  return file;
}

/** The warning lines (those containing `containing`) of plan, apply and status, each of which must exit 0. */
async function deployWarnings(file: string, containing: string): Promise<[string, string[]][]> {
  const out: [string, string[]][] = [];
  for (const command of ["plan", "apply", "status"]) {
    const r = await runCli([command, file]);
    expect({ command, code: r.code }).toEqual({ command, code: 0 });
    out.push([command, r.out.split("\n").filter((l) => l.includes("warning:") && l.includes(containing))]);
  }
  return out;
}

/** What `netpol reach` says of one cell for tcp/80. */
async function reaches(file: string, from: string, to: string): Promise<boolean> {
  const r = await runCli(["reach", file, "--format", "json", "--probe", "tcp/80"]);
  return (JSON.parse(r.out) as { probes: { matrix: Record<string, Record<string, boolean>> }[] }).probes[0].matrix[from][to];
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
      for (const [command, warnings] of await deployWarnings(file, "masqueraded")) {
        expect({ command, warnings: warnings.length }).toEqual({ command, warnings: 1 });
        expect(warnings[0]).toContain(WARNING);
        expect(warnings[0]).toContain('"ip-masq": false');
        expect(warnings[0]).toContain("com.docker.network.bridge.enable_ip_masquerade=false");
      }
    }, 120_000);

    test("with real packets: the rule for web on h2 never matches — ext sees d1's address, so web → ext is dropped although the policy allows it", async () => {
      expect(await lab.probe("web", "ext", "tcp/80")).toBe(false);
      expect(await reaches(file, "web", "ext")).toBe(true);
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
      for (const [command, warnings] of await deployWarnings(file, "")) expect({ command, warnings }).toEqual({ command, warnings: [] });
      expect(await lab.probe("web", "ext", "tcp/80")).toBe(true);
    } finally {
      await runCli(["destroy", file]);
    }
  }, 120_000);

  test("iptables: dockerd restarted puts its DOCKER-USER jump (with the recipe's accept) in front of the network's chain; status names it as drift, apply --force puts the chain back in front and the deny holds again", async () => {
    const file = writeModel(lab, "restart-iptables", "iptables", []);
    try {
      expect((await runCli(["apply", file])).code).toBe(0);
      expect(await lab.probe("ext", "web", "tcp/80")).toBe(false);
      await lab.restartDockerd("d1");
      const forward = (await lab.exec("d1", ["iptables", "-S", "FORWARD"])).stdout.split("\n");
      expect(forward[1]).toBe("-A FORWARD -j DOCKER-USER");
      expect(await lab.probe("ext", "web", "tcp/80")).toBe(true); // what DOCKER-USER accepts never meets the network's rules
      const status = await runCli(["status", file]);
      expect(status.code).toBe(1);
      expect(status.out).toContain('d1: drift: the rules were edited on the host (first difference at line');
      expect(status.out).toContain(`# FORWARD runs "-A FORWARD -j DOCKER-USER" before the network's chain`);
      const repaired = await runCli(["apply", file, "--force"]);
      expect(repaired.code).toBe(0);
      expect((await lab.exec("d1", ["iptables", "-S", "FORWARD"])).stdout.split("\n")[1]).toMatch(/^-A FORWARD -j NETPOL_/);
      expect(await lab.probe("ext", "web", "tcp/80")).toBe(false);
      const again = await runCli(["status", file]);
      expect(again.out).toContain("d1: in sync");
    } finally {
      await runCli(["destroy", file]);
    }
  }, 180_000);

  describe.each(["nftables", "iptables"] as const)("%s: Docker's FORWARD drop", (backend) => {
    const ACCEPT = ["DOCKER-USER", "-i", "transit", "-o", "docker0", "-j", "ACCEPT"];
    const FORWARD_WARNING = "warning: d1: Docker's FORWARD policy is DROP and DOCKER-USER accepts nothing";
    let file: string;
    beforeAll(async () => {
      file = writeModel(lab, `forward-${backend}`, backend);
      // Imitation, said so: dockerd sets this policy itself only when it has to turn IP forwarding
      // on, and the lab's hosts forward before dockerd starts, so here it left the policy ACCEPT.
      await lab.exec("d1", ["iptables", "-P", "FORWARD", "DROP"]);
    });
    afterAll(async () => {
      await runCli(["destroy", file]);
      await lab.exec("d1", ["iptables", "-P", "FORWARD", "ACCEPT"]);
    }, 60_000);

    test("without the DOCKER-USER accept: ext → web is dropped by Docker although the network allows it; plan, apply and status warn for d1, naming the fix", async () => {
      await lab.exec("d1", ["iptables", "-D", ...ACCEPT]);
      try {
        for (const [command, warnings] of await deployWarnings(file, "")) {
          expect({ command, warnings: warnings.length }).toEqual({ command, warnings: 1 });
          expect(warnings[0]).toContain(FORWARD_WARNING);
          expect(warnings[0]).toContain("iptables -I DOCKER-USER -i eth0 -o docker0 -j ACCEPT");
        }
        expect(await reaches(file, "ext", "web")).toBe(true);
        expect(await lab.probe("ext", "web", "tcp/80")).toBe(false);
        expect(await lab.probe("web", "ext", "tcp/80")).toBe(true); // Docker forwards what leaves its bridge
      } finally {
        await lab.exec("d1", ["iptables", "-I", ...ACCEPT]);
      }
    }, 120_000);

    test("with the accept: no warning, the allow passes, and the network's deny still holds beside Docker's ACCEPT", async () => {
      const status = await runCli(["status", file]);
      expect(status.out).not.toContain("warning:");
      expect(await lab.probe("ext", "web", "tcp/80")).toBe(true);
      const denyAll = writeModel(lab, `forward-${backend}`, backend, []);
      const applied = await runCli(["apply", denyAll]);
      expect(applied.code).toBe(0);
      expect(await lab.probe("ext", "web", "tcp/80")).toBe(false);
      expect(await lab.probe("web", "ext", "tcp/80")).toBe(false);
    }, 120_000);
  });
});
