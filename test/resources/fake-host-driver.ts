/**
 * A stand-in for the SSH hosts in provider and harness tests that run without the namespace lab:
 * a HostDriver (provider/deploy/hosts/driver.ts) whose "hosts" are JSON files in
 * $NETPOL_FAKE_HOSTS_DIR (table → {hash, text}, record → {rendered, live, policy}, written by apply as the SSH appliers do). Hosts whose address is
 * "unreachable.invalid" fail to connect. Every call is logged in calls.log there. Tests hand it to
 * the provider with networkProviderWith({ hostDriverModule }) or pass it to the operations; the
 * real SSH path is exercised by the lab tests.
 */
import * as fs from "fs";
import * as path from "path";
import type { HostDriver, HostRecord } from "../../provider/deploy/hosts/driver";
import type { SshTarget } from "../../provider/targets/ssh/connect";
import { HostError } from "../../provider/targets/ssh/host-error";
import { rulesText } from "../../provider/ruleset";

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

function saveRecord(target: SshTarget, host: string, table: string, record: HostRecord): void {
  const data = load(target);
  save(target, { ...data, records: { ...data.records, [`${host}/${table}`]: record } });
}

/** As the SSH appliers: the record is written by the apply, and a no-op apply keeps only the policy current. */
export const hostDriver: HostDriver = {
  async apply(target, ruleset, options) {
    connect(target, ruleset.host);
    const tables = hostTables(target);
    const text = ruleset.nft ?? JSON.stringify(ruleset.iptables);
    const current = tables[ruleset.table];
    const policy = options.policy !== undefined ? { policy: options.policy } : {};
    if (!options.force && current?.hash === ruleset.hash) {
      log(`apply ${ruleset.host} ${ruleset.table} unchanged`);
      const record = load(target).records[`${ruleset.host}/${ruleset.table}`];
      if (record && options.policy !== undefined && record.policy !== options.policy) saveRecord(target, ruleset.host, ruleset.table, { ...record, ...policy });
      return { host: ruleset.host, changed: false, hash: ruleset.hash, liveText: current.text };
    }
    writeTables(target, { ...tables, [ruleset.table]: { hash: ruleset.hash, text } });
    log(`apply ${ruleset.host} ${ruleset.table}${options.force ? " force" : ""}`);
    saveRecord(target, ruleset.host, ruleset.table, { rendered: rulesText(ruleset), live: text, ...policy });
    return { host: ruleset.host, changed: true, hash: ruleset.hash, liveText: text };
  },
  async read(target, host, _backend, table) {
    connect(target, host);
    log(`read ${host} ${table}`);
    const t = hostTables(target)[table];
    const record = load(target).records[`${host}/${table}`];
    const recorded = record ? { record } : {};
    return t ? { present: true, hash: t.hash, text: t.text, ...recorded } : { present: false, ...recorded };
  },
  async delete(target, host, _backend, table) {
    connect(target, host);
    const data = load(target);
    const { [table]: had, ...rest } = data.tables;
    const { [`${host}/${table}`]: _gone, ...records } = data.records;
    save(target, { tables: rest, records });
    log(`delete ${host} ${table}`);
    return { host, deleted: had !== undefined };
  },
};
