/** The example programs type-check against the SDK (they are outside the package's tsconfig). */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

it("examples/*/index.ts compile with strict TypeScript", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-tsc-"));
  const config = path.join(dir, "tsconfig.json");
  fs.writeFileSync(config, JSON.stringify({
    extends: path.join(ROOT, "tsconfig.json"),
    compilerOptions: { noEmit: true, rootDir: ROOT, types: ["node"], typeRoots: [path.join(ROOT, "node_modules", "@types")] },
    include: [path.join(ROOT, "examples", "*", "index.ts")],
  }));
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", config], { encoding: "utf8", cwd: ROOT, timeout: 120_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 150_000);
