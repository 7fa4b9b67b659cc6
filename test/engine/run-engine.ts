/** Test helper: runs `npm run engine` (the harness CLI) as a child process, as a user would. */
import { spawn } from "child_process";
import * as path from "path";

export interface EngineRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const ROOT = path.resolve(__dirname, "..", "..");
const TS_REGISTER = path.join(ROOT, "test/support/ts-register.js");

export function runEngine(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<EngineRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // The condition `netpolicy-source` (package.json `exports`) makes a program's
    // `import … from "pulumi-netpolicy"` load this checkout's sdk/*.ts, not a build in dist/.
    // ts-register.js is ts-node's transpile-only mode with the output kept between runs.
    const child = spawn(process.execPath, ["--conditions=netpolicy-source", "-r", TS_REGISTER, path.join(ROOT, "test/engine/cli.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`engine ${args.join(" ")} timed out:\n${stdout}\n${stderr}`)); }, timeoutMs);
    // "close", not "exit": a child's last output can arrive after it has exited (seen on a loaded
    // machine as a `pulumi destroy` that printed nothing).
    child.on("close", (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }); });
  });
}
