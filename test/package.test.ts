/**
 * The package as users get it: `npm pack` ships what runs (the build of provider/ and sdk/, its
 * declarations, README, LICENSE), and the tarball installed into an empty project works from
 * CommonJS, ESM, TypeScript and its `netpol` bin, with nothing printed on this Node version.
 *
 * The empty project installs offline: its lockfile is the tarball plus this project's own lockfile's
 * runtime packages (the versions the test suite runs with), fetched from npm's cache by integrity.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const TSC = require.resolve("typescript/bin/tsc");
const MODEL = path.join(ROOT, "examples", "models", "rancher-label-isolation.yaml");

interface LockEntry { version?: string; resolved?: string; dev?: boolean; link?: boolean; [key: string]: unknown }
interface PackFile { path: string }

let dir: string;
let files: string[];
let tarball: string;

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000, env: { ...process.env, npm_config_update_notifier: "false" } });
}

/** npm's notice that the consumer's allowScripts policy has not yet approved dependencies' install scripts
 * (ssh2's optional native build, cpu-features, protobufjs): a setting of the installing project, not of the package. */
const isInstallScriptsNotice = (line: string) => line.startsWith("npm warn install-scripts");

/** The empty project's lockfile: the tarball and every runtime package of this project's lockfile. */
function consumerLock(tarballName: string): object {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const self = lock.packages[""] as LockEntry & { dependencies: Record<string, string> };
  const packages: Record<string, LockEntry> = {};
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === "" || entry.dev || entry.link) continue;
    const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    const base = name.split("/").pop() ?? name;
    packages[key] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz` };
  }
  const spec = `file:../${tarballName}`;
  packages["node_modules/pulumi-netpolicy"] = { version: self.version, resolved: spec, dependencies: self.dependencies, bin: self.bin, engines: self.engines };
  return { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "consumer", version: "1.0.0", dependencies: { "pulumi-netpolicy": spec } }, ...packages } };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-pack-"));
  const pack = run("npm", ["pack", "--json", "--pack-destination", dir], ROOT);
  expect(pack.status).toBe(0);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as { filename: string; files: PackFile[] }[];
  files = info.files.map((f) => f.path).sort();
  tarball = info.filename;
}, 300_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("npm pack", () => {
  it("lists only the build of provider/ and sdk/ (JavaScript and declarations), README, LICENSE and package.json", () => {
    const extra = files.filter((f) => !["LICENSE", "README.md", "package.json"].includes(f) && !/^dist\/(provider|sdk)\/.+\.(js|d\.ts)$/.test(f));
    expect(extra).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/provider/cli.js"]));
    expect(files.filter((f) => f.startsWith("dist/test/") || f.startsWith("dist/bench/") || f.endsWith(".map"))).toEqual([]);
  });

  it("ships the Apache-2.0 text the license field names", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { license: string };
    expect(pkg.license).toBe("Apache-2.0");
    expect(fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
  });
});

describe("the tarball in an empty project", () => {
  let app: string;

  beforeAll(() => {
    app = path.join(dir, "consumer");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies: { "pulumi-netpolicy": `file:../${tarball}` } }));
    fs.writeFileSync(path.join(app, "package-lock.json"), JSON.stringify(consumerLock(tarball)));
  });

  it(`installs offline with no warning on Node ${process.versions.node}`, () => {
    const r = run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], app);
    expect(r.stderr).not.toMatch(/EBADENGINE|deprecated/);
    expect(r.stderr.split("\n").filter((l) => /warn|error/i.test(l) && !isInstallScriptsNotice(l))).toEqual([]);
    expect(r.status).toBe(0);
  }, 300_000);

  it("loads from CommonJS and ESM, printing nothing on stderr", () => {
    const cjs = run(process.execPath, ["-e", 'const n = require("pulumi-netpolicy"); console.log(Object.keys(n).sort().join(" "))'], app);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout.trim()).toBe("Network NetworkPolicy Policy Profile kubernetesPorts ports rancher stackConfig");
    fs.writeFileSync(path.join(app, "esm.mjs"), 'import { Network, ports } from "pulumi-netpolicy";\nconsole.log(typeof Network, ports.tcp(80));\n');
    const esm = run(process.execPath, ["esm.mjs"], app);
    expect(esm.stderr).toBe("");
    expect(esm.stdout.trim()).toBe("function 80/tcp");
  });

  it.each([
    ["commonjs", "node"],
    ["node16", "node16"],
  ])("type-checks a program with module %s, moduleResolution %s (a wrong call is an error)", (module, resolution) => {
    fs.writeFileSync(path.join(app, "index.ts"), [
      'import { Network, ports, rancher } from "pulumi-netpolicy";',
      "const allow = rancher.withinStack();",
      "const port: string = ports.tcp(443);",
      "// @ts-expect-error a port is a number",
      'ports.tcp("443");',
      "export { Network, allow, port };",
      "",
    ].join("\n"));
    const r = run(process.execPath, [TSC, "--noEmit", "--strict", "--module", module, "--moduleResolution", resolution, "index.ts"], app);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 120_000);

  it("runs its netpol bin", () => {
    const r = run(path.join(app, "node_modules", ".bin", "netpol"), ["validate", MODEL], app);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/: valid — 7 endpoints, 3 hosts/);
    expect(r.status).toBe(0);
  });
});
