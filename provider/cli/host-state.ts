/**
 * What the CLI keeps on each host beside the applier's rollback files: the rendered text it
 * applied (so `plan` can show the lines that change) and the host's listing right after the apply
 * (so `status` can tell a hand edit from our own rules). Paths derive from generated names only.
 */
import { shortHash } from "../ir/builder";
import type { SshTarget } from "../targets/ssh/connect";
import { runOnHost } from "../targets/ssh/session";

const ROOT = "/var/lib/pulumi-netpolicy";

/** One folder per host name, so hosts sharing a filesystem (the namespace lab) never collide. */
export function stateDirFor(host: string): string {
  return `${ROOT}/h_${shortHash(host, 10)}`;
}

const fileOf = (host: string, table: string, kind: "rendered" | "live") => `${stateDirFor(host)}/${table}.${kind}`;

export async function saveHostState(target: SshTarget, host: string, table: string, rendered: string, live: string): Promise<void> {
  const dir = stateDirFor(host);
  // The two texts travel on stdin, separated by a NUL-free marker line the renderer never emits.
  const marker = "--- netpol live listing ---";
  await runOnHost(target, `mkdir -p ${dir} && awk -v r=${fileOf(host, table, "rendered")} -v l=${fileOf(host, table, "live")} '$0=="${marker}"{f=1;next} {print > (f ? l : r)}'`,
    `${rendered.trimEnd()}\n${marker}\n${live.trimEnd()}\n`, { step: "save state" });
}

export async function loadHostState(target: SshTarget, host: string, table: string): Promise<{ rendered?: string; live?: string }> {
  const read = async (kind: "rendered" | "live") => {
    const r = await runOnHost(target, `cat ${fileOf(host, table, kind)} 2>/dev/null || true`, undefined, { step: "read state" });
    return r.stdout === "" ? undefined : r.stdout;
  };
  return { rendered: await read("rendered"), live: await read("live") };
}

export async function clearHostState(target: SshTarget, host: string, table: string): Promise<void> {
  await runOnHost(target, `rm -f ${fileOf(host, table, "rendered")} ${fileOf(host, table, "live")}`, undefined, { step: "remove state" });
}
