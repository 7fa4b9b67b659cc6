/**
 * Bounded input through `netpol`: documents nested too deeply, too large, or quoting control
 * characters and huge values are refused with exit 1 and a message that says where (a line
 * number), never an abort of the process or a stack overflow reported as a YAML error.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli, tempFile } from "./support/cli";

const nestedMaps = (levels: number) => Array.from({ length: levels }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n") + " 1\n";

describe("nesting beyond 64 levels is refused before parsing, naming the line", () => {
  it.each([
    ["1,500 nested flow lists (a 3 KB file)", `name: deep\nendpoints: ${"[".repeat(1500)}${"]".repeat(1500)}\n`, "line 2, column 75"],
    ["1,500 nested flow mappings in JSON", `{"name": "deep",\n "endpoints": ${'{"a":'.repeat(1500)}1${"}".repeat(1500)}}\n`, "line 2, column "],
    ["10,000 nested flow mappings", `name: deep\nnamespaces: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n`, "line 2, column 265"],
    ["200 nested block mappings", `name: deep\nnamespaces:\n${nestedMaps(200).replace(/^/gm, "  ")}`, "line 66, column 129"],
  ])("%s", async (_what, text, where) => {
    const file = tempFile("model.yaml", text);
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}: ${where}`);
    expect(r.err).toContain("nests lists and mappings deeper than 64 levels; flatten the document");
    expect(r.err).not.toContain("call stack");
    // The offending line is shown as a window around the column, not whole.
    expect(r.err.length).toBeLessThan(1000);
  });

  it("a model at 60 levels (quoted brackets and block scalars do not count) is parsed and judged by the schema", async () => {
    const text = `name: fine\nendpoints:\n  - name: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n    note: |\n${Array.from({ length: 80 }, (_, i) => `${" ".repeat(6 + i)}x`).join("\n")}\n    x: ${"[".repeat(58)}${"]".repeat(58)}\n`;
    const r = await runCli(["validate", tempFile("model.yaml", text)]);
    expect(r.code).toBe(1);
    expect(r.err).not.toContain("deeper than");
    expect(r.err).toContain('endpoints[0].note: unknown field');
  });
});

it("netpol test's expectations file is bounded the same way", async () => {
  const model = path.join(__dirname, "..", "examples/models/rancher-stack-isolation.yaml");
  const expect_ = tempFile("expect.yaml", `- from: ${"[".repeat(100)}${"]".repeat(100)}\n`);
  const r = await runCli(["test", model, expect_]);
  expect(r.code).toBe(1);
  expect(r.err).toContain(`${expect_}: line 1, column 71: nests lists and mappings deeper than 64 levels`);
});

it("as a process: the 1,500-bracket model ends with exit status 1, not an abort (SIGABRT)", () => {
  const file = tempFile("model.yaml", `endpoints: ${"[".repeat(1500)}${"]".repeat(1500)}\n`);
  const cli = path.join(__dirname, "..", "provider", "cli.ts");
  const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", cli, "validate", file], { encoding: "utf8", timeout: 120_000 });
  expect(run.signal).toBeNull();
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`${file}: line 1, column 75: nests lists and mappings deeper than 64 levels`);
}, 130_000);

describe("size", () => {
  it("a 10 MB model is refused from its size, naming the line where the 8 MiB limit is passed", async () => {
    const line = "  - { name: endpoint-with-a-long-name, ips: [10.1.2.3], labels: { tier: web } }\n";
    const text = `name: big\nendpoints:\n${line.repeat(Math.ceil(10_000_000 / line.length))}`;
    const file = tempFile("model.yaml", text);
    const r = await runCli(["validate", file]);
    expect(r.code).toBe(1);
    const limitLine = Math.floor((8 * 1048576 - "name: big\nendpoints:\n".length) / line.length) + 3;
    expect(r.err.trim()).toBe(`${file}: the file is ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB, over the limit of 8 MiB from line ${limitLine} on; split it or generate it from a program`);
  });
});

describe("values echoed in errors", () => {
  it("control characters are escaped and a 3 MB value is cut", async () => {
    const huge = "x".repeat(3_000_000);
    const text = JSON.stringify({ name: "echo", endpoints: [{ name: "web", ips: ["10.0.0.1"], labels: { tier: 42 } }], hosts: [{ name: "h", backend: `nft\u001b[2J\u001b]0;owned\u0007${huge}` }] });
    const r = await runCli(["validate", tempFile("model.json", text)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("hosts[0].backend: must be");
    expect(r.err).toContain('not "nft\\u001b[2J\\u001b]0;owned\\u0007xxx');
    expect(r.err).toContain("more characters)");
    expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.err.length).toBeLessThan(2000);
  });

  it("a check that quotes the value whole (a label value) is still bounded and escaped", async () => {
    const text = JSON.stringify({ name: "echo", endpoints: [{ name: "web", ips: ["10.0.0.1"], labels: { tier: `\u001b[31m${"v".repeat(3_000_000)}` } }] });
    const r = await runCli(["validate", tempFile("model.json", text)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('endpoints[0].labels.tier: "\\x1b[31mvvv');
    expect(r.err).toContain("more characters)");
    expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.err.length).toBeLessThan(2000);
  });

  it("a key with a line break and an escape is shown escaped in the property path", async () => {
    const text = JSON.stringify({ name: "echo", endpoints: [{ name: "web", ips: ["10.0.0.1"], [`bad\n\u001b[31mkey${"k".repeat(500)}`]: 1 }] });
    const r = await runCli(["validate", tempFile("model.json", text)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('endpoints[0]["bad\\n\\u001b[31mkey');
    expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.err.length).toBeLessThan(1000);
  });

  it("a YAML syntax error on a long line shows a window around the column, control characters escaped", async () => {
    const text = `name: x\nendpoints: [${"a, ".repeat(20000)}\u0085 }\n`;
    const r = await runCli(["validate", tempFile("model.yaml", text)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("line 2, column");
    expect(r.err.length).toBeLessThan(1000);
  });
});

describe("kubeconfig", () => {
  it("one of 10,000 nested maps is refused with its line, before the cluster is contacted", async () => {
    const dir = path.dirname(tempFile("model.yaml", ""));
    fs.writeFileSync(path.join(dir, "kubeconfig"), `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    extensions: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n`);
    fs.writeFileSync(path.join(dir, "model.yaml"), "name: k\ncluster: { kubeconfig: kubeconfig, context: c }\nnamespaces: [{ name: default, isolation: DefaultDeny }]\n");
    const r = await runCli(["status", path.join(dir, "model.yaml")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`kubeconfig ${path.join(dir, "kubeconfig")}: line 7, column 261: `);
    expect(r.err).toContain("deeper than 64 levels");
  });
});

describe("credentials only over TLS", () => {
  const model = (allow: boolean) => {
    const dir = path.dirname(tempFile("model.yaml", ""));
    fs.writeFileSync(path.join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{ name: c, cluster: { server: 'http://127.0.0.1:1' } }]\nusers: [{ name: u, user: { token: tok-http-secret } }]\ncontexts: [{ name: c, context: { cluster: c, user: u } }]\n");
    fs.writeFileSync(path.join(dir, "model.yaml"), `name: k\ncluster: { kubeconfig: kubeconfig${allow ? ", insecureAllowHttp: true" : ""} }\nnamespaces: [{ name: default, isolation: DefaultDeny }]\n`);
    return path.join(dir, "model.yaml");
  };

  it("an http:// kubeconfig server is refused before anything is sent", async () => {
    const r = await runCli(["status", model(false)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('server "http://127.0.0.1:1" uses http://: the credentials and every object would travel in clear text');
    expect(r.err).not.toContain("tok-http-secret");
  });

  it("cluster.insecureAllowHttp: true lets it through to the connection (here refused: nothing listens)", async () => {
    const r = await runCli(["status", model(true)]);
    expect(r.code).toBe(1);
    expect(r.err).not.toContain("uses http://");
    expect(r.err).toContain("cannot reach http://127.0.0.1:1 (ECONNREFUSED");
  });
});
