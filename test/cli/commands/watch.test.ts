/** `netpol watch`: what it refuses before it connects anywhere (the loop is test/deploy/watch.test.ts, the lab run test/e2e/docker-watch.test.ts). */
import { runCli, tempFile } from "../../support/cli";

const dockerModel = tempFile("docker.yaml", [
  "hosts:",
  "  - name: d1",
  "    discover: docker",
  `    ssh: { host: 127.0.0.1, port: 1, user: root, privateKeyEnv: NETPOL_TEST_UNSET_KEY, hostKey: "SHA256:${"A".repeat(43)}" }`,
  "network: { defaultPolicyAction: deny, policy: [] }",
].join("\n"));

test.each([
  ["a coalesce window of 0", ["--coalesce", "0"], "netpol watch: --coalesce must be 1-60000 milliseconds"],
  ["a coalesce window that is not a number", ["--coalesce", "fast"], "netpol watch: --coalesce must be 1-60000 milliseconds"],
  ["a rollback timer too short", ["--rollback-timer", "1"], "netpol watch: --rollback-timer must be 5-3600 seconds"],
])("%s is a usage error", async (_what, extra, message) => {
  const r = await runCli(["watch", dockerModel, ...extra]);
  expect(r.code).toBe(2);
  expect(r.err).toContain(message);
  expect(r.out).toBe("");
});

test("a model without discover: docker hosts is refused, naming the file and the fix", async () => {
  const r = await runCli(["watch", "examples/models/rancher-stack-isolation.yaml"]);
  expect(r.code).toBe(1);
  expect(r.err).toBe("examples/models/rancher-stack-isolation.yaml: hosts: no host says discover: docker, so there are no containers to follow; add discover: docker to the Docker hosts (or use netpol apply)\n");
});

test("a host's missing secret is an input error before anything connects", async () => {
  const r = await runCli(["watch", dockerModel], process.cwd(), {});
  expect(r.code).toBe(1);
  expect(r.err).toContain("hosts[0].ssh.privateKeyEnv: environment variable NETPOL_TEST_UNSET_KEY is not set");
});

test("a caller that cannot stop it gets told to use --once", async () => {
  const r = await runCli(["watch", dockerModel], process.cwd(), { NETPOL_TEST_UNSET_KEY: "x" });
  expect(r.code).toBe(2);
  expect(r.err).toContain("watch runs until it is stopped, and this caller cannot stop it; use --once");
});
