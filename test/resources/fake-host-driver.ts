/**
 * A stand-in for the SSH hosts in provider and harness tests that run without the namespace lab:
 * a HostDriver (provider/deploy/hosts/driver.ts) whose "hosts" are JSON files in
 * $NETPOL_FAKE_HOSTS_DIR (table → {hash, text}, record → {rendered, live}). Hosts whose address is
 * "unreachable.invalid" fail to connect. Every call is logged in calls.log there. Tests hand it to
 * the provider with networkProviderWith({ hostDriverModule }) or pass it to the operations; the
 * real SSH path is exercised by the lab tests.
 */
import * as fs from "fs";
import * as path from "path";
import type { HostDriver, HostRecord } from "../../provider/deploy/hosts/driver";
import type { SshTarget } from "../../provider/targets/ssh/connect";
import { HostError } from "../../provider/targets/ssh/host-error";

type Tables = Record<string, { hash: string; text: string }>;
interface HostFile { tables: Tables; records: Record<string, HostRecord> }

function dir(): string {
  const d = process.env.NETPOL_FAKE_HOSTS_DIR;
  if (!d) throw new Error("NETPOL_FAKE_HOSTS_DIR is not set");
  return d;
}

function fileOf(target: SshTarget): string {
  return path.join(dir(), `${target.host}_${target.port ?? 22}.json`);
}

function load(target: SshTarget): HostFile {
  const f = fileOf(target);
  const data = fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as Partial<HostFile>) : {};
  return { tables: data.tables ?? {}, records: data.records ?? {} };
}

function save(target: SshTarget, data: HostFile): void {
  fs.writeFileSync(fileOf(target), JSON.stringify(data, null, 2));
}

export function hostTables(target: SshTarget): Tables {
  return load(target).tables;
}

export function writeTables(target: SshTarget, tables: Tables): void {
  save(target, { ...load(target), tables });
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

export const hostDriver: HostDriver = {
  async apply(target, ruleset, options) {
    connect(target, ruleset.host);
    const tables = hostTables(target);
    const text = ruleset.nft ?? JSON.stringify(ruleset.iptables);
    const current = tables[ruleset.table];
    if (!options.force && current?.hash === ruleset.hash) {
      log(`apply ${ruleset.host} ${ruleset.table} unchanged`);
      const result = { host: ruleset.host, changed: false, hash: ruleset.hash, liveText: current.text };
      await options.whileLocked?.(result);
      return result;
    }
    writeTables(target, { ...tables, [ruleset.table]: { hash: ruleset.hash, text } });
    log(`apply ${ruleset.host} ${ruleset.table}${options.force ? " force" : ""}`);
    const result = { host: ruleset.host, changed: true, hash: ruleset.hash, liveText: text };
    await options.whileLocked?.(result);
    return result;
  },
  async read(target, host, _backend, table) {
    connect(target, host);
    log(`read ${host} ${table}`);
    const t = hostTables(target)[table];
    return t ? { present: true, hash: t.hash, text: t.text } : { present: false };
  },
  async delete(target, host, _backend, table) {
    connect(target, host);
    const { [table]: had, ...rest } = hostTables(target);
    writeTables(target, rest);
    log(`delete ${host} ${table}`);
    return { host, deleted: had !== undefined };
  },
  async readRecord(target, host, table) {
    connect(target, host);
    return load(target).records[`${host}/${table}`];
  },
  async writeRecord(target, host, table, record) {
    connect(target, host);
    const data = load(target);
    save(target, { ...data, records: { ...data.records, [`${host}/${table}`]: record } });
  },
  async clearRecord(target, host, table) {
    connect(target, host);
    const data = load(target);
    const { [`${host}/${table}`]: _gone, ...records } = data.records;
    save(target, { ...data, records });
  },
};
