/** Runs the `netpol` command in-process and captures what it prints. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../provider/cli";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(argv: string[], cwd = process.cwd(), env: Record<string, string | undefined> = process.env): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, write: (t) => { out += t; }, env, cwd });
  return { code, out, err };
}

export function tempFile(name: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-test-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}
