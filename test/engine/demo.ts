/**
 * `npm run demo`: the quick start on a throwaway namespace lab (needs root and the lab tools).
 * With a real `pulumi` CLI on PATH it drives that (local file backend, a throwaway stack and config
 * file); without one, the engine harness. preview → up → measured matrix → change `dbPort` →
 * preview shows the changed lines → up → refresh → destroy.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Lab } from "../lab/lab";
import { runEngine } from "./run-engine";

const ROOT = path.resolve(__dirname, "..", "..");
const ENDPOINTS = [{ name: "web-1", host: "h1" }, { name: "db-1", host: "h2" }, { name: "admin-1", host: "h1" }];

function pulumiOnPath(): boolean {
  return spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0;
}

function printMatrix(title: string, m: Record<string, Record<string, boolean>>): void {
  const names = Object.keys(m);
  const w = Math.max(...names.map((n, i) => `${i + 1} ${n}`.length)) + 2;
  process.stdout.write(`\n${title} (rows: from, columns: to; "." allowed, "X" denied)\n${" ".repeat(w)}${names.map((_, i) => String(i + 1).padEnd(2)).join("")}\n`);
  names.forEach((from, i) => process.stdout.write(`${`${i + 1} ${from}`.padEnd(w)}${names.map((to) => (m[from][to] ? ". " : "X ")).join("")}\n`));
}

async function main(): Promise<void> {
  const lab = await Lab.create({ hosts: [{ name: "h1" }, { name: "h2" }], endpoints: ENDPOINTS.map((e) => ({ ...e, listen: { tcp: [5432, 5433] } })), ipv6: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-demo-"));
  try {
    const hosts = ["h1", "h2"].map((name) => ({ name, ssh: { host: lab.hostSsh(name).host, hostKey: lab.hostSsh(name).hostKey } }));
    const placement = Object.fromEntries(ENDPOINTS.map((e) => [e.name, { ips: [lab.endpoint(e.name).ipv4] }]));
    const secrets = { hosts: JSON.stringify(hosts), privateKey: lab.hostSsh("h1").privateKey };
    const plain: Record<string, string> = { placement: JSON.stringify(placement) };
    const real = pulumiOnPath();
    const configFile = path.join(dir, "Pulumi.demo.yaml");
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "netpol-demo" };
    const pulumi = (args: string[]) => {
      const r = spawnSync("pulumi", [...args, "--cwd", ROOT, "--stack", "demo", "--config-file", configFile, "--non-interactive"], { encoding: "utf8", env, stdio: ["ignore", "inherit", "inherit"] });
      if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed`);
    };
    const harness = async (op: string, extra: Record<string, string> = {}) => {
      const args = [op, ROOT, "--stack", "demo", "--state", path.join(dir, "state.json"),
        ...Object.entries(secrets).flatMap(([k, v]) => ["--secret", `${k}=${v}`]),
        ...Object.entries({ ...plain, ...extra }).flatMap(([k, v]) => ["--config", `${k}=${v}`])];
      const r = await runEngine(args, {}, 300_000);
      process.stdout.write(`\n$ npm run engine -- ${op} . ${Object.keys(extra).map((k) => `--config ${k}=${extra[k]}`).join(" ")}\n${r.stdout}${r.stderr}`);
      if (r.code !== 0) throw new Error(`${op} failed`);
    };
    const step = async (op: "preview" | "up" | "refresh" | "destroy", extra: Record<string, string> = {}) => {
      if (!real) return harness(op, extra);
      for (const [k, v] of Object.entries(extra)) pulumi(["config", "set", k, v]);
      pulumi(op === "preview" ? ["preview", "--diff"] : [op, "--yes", ...(op === "up" ? ["--diff"] : [])]);
    };
    process.stdout.write(real ? "Using the pulumi CLI on PATH (local file backend).\n" : "No pulumi CLI on PATH: using the engine harness.\n");
    if (real) {
      spawnSync("pulumi", ["stack", "init", "demo", "--cwd", ROOT, "--non-interactive"], { env, stdio: "inherit" });
      for (const [k, v] of Object.entries(secrets)) pulumi(["config", "set", "--secret", k, v]);
      for (const [k, v] of Object.entries(plain)) pulumi(["config", "set", k, v]);
    }
    await step("preview");
    await step("up");
    printMatrix("measured tcp/5432", (await lab.measureMatrix(["tcp/5432"]))["tcp/5432"]);
    await step("preview", { dbPort: "5433" });
    await step("up", { dbPort: "5433" });
    printMatrix("measured tcp/5433", (await lab.measureMatrix(["tcp/5433"]))["tcp/5433"]);
    await step("refresh", { dbPort: "5433" });
    await step("destroy", { dbPort: "5433" });
    if (real) spawnSync("pulumi", ["stack", "rm", "demo", "--yes", "--cwd", ROOT, "--non-interactive"], { env, stdio: "inherit" });
  } finally {
    await lab.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
