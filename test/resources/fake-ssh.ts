/**
 * A stand-in for provider/targets/ssh in provider and harness tests that run without the lab:
 * each "host" is a JSON file in $NETPOL_FAKE_HOSTS_DIR (table → {hash, text}). Hosts whose
 * address is "unreachable.invalid" fail to connect. It records every call in calls.log there.
 * The real SSH path is exercised by the lab tests.
 */
import * as fs from "fs";
import * as path from "path";
import type { ApplyHostsReport, HostApply, HostReadResult, SshTarget } from "../../provider/targets/ssh";
import type { ApplyOptions, ApplyResult, DeleteResult } from "../../provider/targets/ssh/apply-options";
import { HostError } from "../../provider/targets/ssh/host-error";

type Tables = Record<string, { hash: string; text: string }>;

function dir(): string {
  const d = process.env.NETPOL_FAKE_HOSTS_DIR;
  if (!d) throw new Error("NETPOL_FAKE_HOSTS_DIR is not set");
  return d;
}

function fileOf(target: SshTarget): string {
  return path.join(dir(), `${target.host}_${target.port ?? 22}.json`);
}

export function hostTables(target: SshTarget): Tables {
  const f = fileOf(target);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as Tables) : {};
}

export function writeTables(target: SshTarget, tables: Tables): void {
  fs.writeFileSync(fileOf(target), JSON.stringify(tables, null, 2));
}

function log(line: string): void {
  fs.appendFileSync(path.join(dir(), "calls.log"), `${line}\n`);
}

function connect(target: SshTarget, host: string): void {
  if (target.host === "unreachable.invalid") {
    throw new HostError({ host, step: "connect", cause: `connect ECONNREFUSED ${target.host}:${target.port ?? 22}`, hint: "Is sshd running?" });
  }
  const secret = target.privateKey ?? target.password;
  if (!secret) throw new HostError({ host, step: "authenticate", cause: "no credentials" });
}

async function applyOne({ target, ruleset }: HostApply, options: ApplyOptions): Promise<ApplyResult> {
  connect(target, ruleset.host);
  const tables = hostTables(target);
  const text = ruleset.nft ?? JSON.stringify(ruleset.iptables);
  const current = tables[ruleset.table];
  if (!options.force && current?.hash === ruleset.hash) {
    log(`apply ${ruleset.host} ${ruleset.table} unchanged`);
    return { host: ruleset.host, changed: false, hash: ruleset.hash, liveText: current.text };
  }
  tables[ruleset.table] = { hash: ruleset.hash, text };
  writeTables(target, tables);
  log(`apply ${ruleset.host} ${ruleset.table}${options.force ? " force" : ""}`);
  return { host: ruleset.host, changed: true, hash: ruleset.hash, liveText: text };
}

export async function applyHosts(list: readonly HostApply[], options: ApplyOptions & { concurrency?: number } = {}): Promise<ApplyHostsReport> {
  const settled = await Promise.allSettled(list.map((item) => applyOne(item, options)));
  const applied: ApplyResult[] = [];
  const failures: HostError[] = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") applied.push(s.value);
    else failures.push(s.reason instanceof HostError ? s.reason : new HostError({ host: list[i].ruleset.host, step: "apply", cause: String(s.reason) }));
  });
  return { applied, failures, ...(failures.length > 0 ? { error: HostError.aggregate(failures, list.length) } : {}) };
}

export async function readHost(target: SshTarget, host: string, _backend: string, table: string): Promise<HostReadResult> {
  connect(target, host);
  log(`read ${host} ${table}`);
  const t = hostTables(target)[table];
  return t ? { present: true, hash: t.hash, text: t.text } : { present: false };
}

export async function deleteHost(target: SshTarget, host: string, _backend: string, table: string): Promise<DeleteResult> {
  connect(target, host);
  const tables = hostTables(target);
  const had = table in tables;
  delete tables[table];
  writeTables(target, tables);
  log(`delete ${host} ${table}`);
  return { host, deleted: had };
}
