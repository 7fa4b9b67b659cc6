/**
 * `npm run demo` end to end, as a user runs it (needs root and the lab tools): it must finish,
 * show the plan of the policy change as rule lines, and find every measured cell equal to the
 * analysis at each of its four checkpoints (before, label isolation, the change, after destroy).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { requireLabPrerequisites } from "../lab/lab";

const ROOT = path.resolve(__dirname, "..", "..");

describe("npm run demo", () => {
  it("applies, changes and destroys the quick start on a lab, measured == expected throughout", async () => {
    await requireLabPrerequisites();
    const r = spawnSync("npm", ["run", "--silent", "demo"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
    expect(r.stderr).not.toMatch(/demo: /);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/measured == expected in every cell/g)).toHaveLength(4);
    expect(r.stdout).toMatch(/~ rules\.h1:/);
    expect(r.stdout).toContain("Label isolation by com.rancher.location");
    expect(r.stdout).toContain("Tearing the lab down.");
    expect(r.stdout).not.toContain("OPENSSH PRIVATE KEY");
  }, 320_000);
});
