/**
 * `npm run typecheck` (the first step of `npm test`, and what an editor sees through tsconfig.json)
 * covers the example programs, whose `import … from "pulumi-netpolicy"` resolves to this checkout's sdk.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

it("the typecheck script's project holds every examples/*/index.ts and resolves the package name to sdk/index.ts", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(pkg.scripts.typecheck).toBe("tsc -p tsconfig.json --noEmit");
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json", "--listFilesOnly", "--explainFiles"], { encoding: "utf8", cwd: ROOT, timeout: 120_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  // --explainFiles: each file on a line of its own, the reasons it is in the program indented below.
  const listed = new Set(r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith(" ")).map((f) => path.resolve(ROOT, f)));
  const programs = fs.readdirSync(path.join(ROOT, "examples"))
    .map((d) => path.join(ROOT, "examples", d, "index.ts"))
    .filter((f) => fs.existsSync(f));
  expect(programs.length).toBeGreaterThanOrEqual(5);
  for (const program of programs) {
    expect(listed).toContain(program);
    expect(r.stdout).toContain(`Imported via "pulumi-netpolicy" from file '${path.relative(ROOT, program)}'`);
    expect(fs.readFileSync(program, "utf8")).not.toMatch(/from "\.\.\/\.\.\/sdk"/);
  }
}, 150_000);
