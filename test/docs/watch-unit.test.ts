/**
 * The README's systemd unit for `netpol watch` (the ```ini block after "netpol-watch.service"):
 * its ExecStart is a valid `netpol watch` command line, and it stops the command with SIGTERM,
 * which watch takes as "finish the apply in flight, then exit 0".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "../../provider/cli/args";
import { watchCommand } from "../../provider/cli/commands/watch";

const readme = fs.readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");

function unit(): Record<string, string> {
  const m = /```ini\n(# \/etc\/systemd\/system\/netpol-watch\.service\n[\s\S]*?)```/.exec(readme);
  if (!m) throw new Error("README.md has no ```ini block for netpol-watch.service");
  return Object.fromEntries(m[1].split("\n").filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

test("ExecStart runs netpol watch with options watch accepts", () => {
  const words = unit().ExecStart.split(/\s+/);
  expect(words.slice(0, 3)).toEqual(["/usr/bin/env", "netpol", "watch"]);
  const args = parseArgs(words.slice(3), watchCommand.options);
  expect(args.positional).toHaveLength(watchCommand.positional);
  expect(args.flags.has("once")).toBe(false); // a service that exits after one converge would restart forever
});

test("it stops watch with SIGTERM and gives an apply in flight time to finish", () => {
  const u = unit();
  expect(u.KillSignal).toBe("SIGTERM");
  expect(Number(u.TimeoutStopSec)).toBeGreaterThanOrEqual(60);
  expect(u.Restart).toBe("on-failure");
});
