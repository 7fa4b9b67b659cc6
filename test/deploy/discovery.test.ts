import * as fs from "fs";
import * as path from "path";
import { endpointOfContainer, HostDiscovery, mergeDiscovered } from "../../provider/deploy/discovery";
import { InputError } from "../../provider/model/errors";
import { parseModel } from "../../provider/model/model";
import { DOCKER_CONTAINERS_COMMAND, DockerContainer, parseInspect, readContainers } from "../../provider/targets/ssh/docker-containers";

const inspect = fs.readFileSync(path.join(__dirname, "../fixtures/docker/inspect.json"), "utf8");

describe("parseInspect", () => {
  const containers = parseInspect("d1", inspect);
  test("keeps running containers, sorted by name, without the leading slash", () => {
    expect(containers.map((c) => c.name)).toEqual(["hostnet", "r1", "shop-web-1"]);
  });
  test("addresses per network (networks by name), v4 and v6; published ports", () => {
    const web = containers.find((c) => c.name === "shop-web-1") as DockerContainer;
    expect(web.networks).toEqual([
      { network: "bridge", ipv4: "10.231.1.2" },
      { network: "shop_front", ipv4: "10.231.1.3", ipv6: "fd00:231:0:1::3" },
    ]);
    expect(web.published).toEqual([{ containerPort: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080 }]);
  });
  test.each([
    ["not JSON", "docker inspect printed something that is not JSON"],
    ['[{"Id":"x"}]', "docker inspect output has an unexpected shape at 0.Id"],
  ])("refuses %s naming the host", (text, message) => {
    expect(() => parseInspect("d1", text)).toThrow(`host d1: discover docker containers failed: ${message}`);
  });
});

describe("endpointOfContainer", () => {
  const byName = Object.fromEntries(parseInspect("d1", inspect).map((c) => [c.name, c]));
  // Label values with spaces, commas or "/" are not label values: left out, each with a note.
  test.each([
    ["shop-web-1", {
      name: "shop-web-1", ips: ["10.231.1.2", "10.231.1.3", "fd00:231:0:1::3"], host: "d1", namespace: "shop",
      labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web", "netpol.namespace": "shop" },
      stack: "shop", service: "web", profiles: ["WEB", "PUBLIC"],
    }, [
      'container shop-web-1: label "netpol.profiles" left out: its value is not a valid label value',
      'container shop-web-1: label "org.opencontainers.image.description" left out: its value is not a valid label value',
    ]],
    ["r1", {
      name: "r1", ips: ["10.231.1.4"], host: "d1", labels: { "io.rancher.stack.name": "stack_one" }, stack: "stack_one", service: "service_two",
    }, ['container r1: label "io.rancher.stack_service.name" left out: its value is not a valid label value']],
  ])("%s", (name, endpoint, notes) => {
    expect(endpointOfContainer("d1", byName[name])).toEqual({ endpoint, notes });
  });
  test("a container without an address is no endpoint, and says why", () => {
    expect(endpointOfContainer("d1", byName.hostnet)).toEqual({ notes: ["container hostnet: no address on any network (network mode host or none); not an endpoint"] });
  });
});

describe("mergeDiscovered", () => {
  const base = parseModel({
    hosts: [{ name: "d1", discover: "docker" }, { name: "d2", discover: "docker" }, { name: "h3" }],
    endpoints: [{ name: "db", ips: ["10.231.3.10"], host: "h3" }],
    profiles: [{ id: "WEB" }],
  });
  const found = (host: string, endpoints: HostDiscovery["endpoints"]): HostDiscovery => ({
    host,
    endpoints,
    notes: [],
    containers: endpoints.map((e, i) => ({ id: String(i + 1).repeat(64).slice(0, 64), name: e.name, networks: [], labels: {}, published: [] })),
  });
  test("written endpoints first, then each host's", () => {
    const m = mergeDiscovered(base, [found("d1", [{ name: "web", ips: ["10.231.1.2"], host: "d1", profiles: ["WEB"] }])]);
    expect((m.endpoints ?? []).map((e) => e.name)).toEqual(["db", "web"]);
  });
  const clash = (hosts: HostDiscovery[]): string => {
    try {
      mergeDiscovered(base, hosts, "m.yaml");
    } catch (e) {
      if (e instanceof InputError) return e.message;
      throw e;
    }
    return "no error";
  };
  test.each([
    ["a name written and discovered", [found("d1", [{ name: "db", ips: ["10.231.1.2"], host: "d1" }])],
      'm.yaml: container db on host d1 (id 111111111111): endpoint name "db" is also used by endpoints[0] (written in the model); rename the container or the endpoint'],
    ["an address on two hosts (Docker's default bridge everywhere)", [found("d1", [{ name: "a", ips: ["172.17.0.2"], host: "d1" }]), found("d2", [{ name: "b", ips: ["172.17.0.2"], host: "d2" }])],
      "m.yaml: container b on host d2 (id 111111111111): address 172.17.0.2 is also used by container a on host d1 (id 111111111111); each Docker host needs a bridge subnet of its own"],
    ["a profile the model does not define, by container", [found("d1", [{ name: "web", ips: ["10.231.1.2"], host: "d1", profiles: ["NOPE"] }])],
      'm.yaml: container web on host d1 (id 111111111111).profiles[0]: profile "NOPE" is not defined under profiles'],
  ])("%s is an error naming both", (_what, hosts, message) => {
    expect(clash(hosts)).toContain(message);
  });
});

describe("readContainers: what the host's docker says, as the user reads it", () => {
  const session = (code: number, stdout: string, stderr: string) => ({
    name: "d1",
    run: async (command: string) => {
      expect(command).toBe(DOCKER_CONTAINERS_COMMAND); // fixed: nothing of the model in it
      return { code, stdout, stderr };
    },
  });
  test.each([
    [127, "", "docker: command not found", "host d1: discover docker containers failed: docker is not installed (no docker command on the PATH). Install Docker on the host, or remove discover: docker from it"],
    [1, "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get ...", "host d1: discover docker containers failed: no permission to use the Docker daemon: permission denied while trying to connect"],
    [1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "host d1: discover docker containers failed: the Docker daemon does not answer: Cannot connect to the Docker daemon"],
    [2, "", "", "host d1: discover docker containers failed: docker exited with 2: (no message)"],
  ])("exit %i, %j", async (code, stdout, stderr, message) => {
    await expect(readContainers(session(code, stdout, stderr))).rejects.toThrow(message);
  });
  test("a container gone between ps and inspect: the others are read", async () => {
    const list = await readContainers(session(1, inspect, "Error: No such object: 5555"));
    expect(list.map((c) => c.name)).toEqual(["hostnet", "r1", "shop-web-1"]);
  });
  test("nothing running: no containers", async () => {
    expect(await readContainers(session(0, "[]\n", ""))).toEqual([]);
  });
});
