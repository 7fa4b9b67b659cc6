/**
 * What each lab run created, on disk under /run/netpol-lab, so that a run killed before its
 * teardown is cleaned up by the next lab that starts; plus the lock that serialises the choice
 * of management addresses between concurrent labs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerdRecord, stopDockerd } from './docker';
import { isAlive, run, sleep } from './run';

export const REGISTRY_DIR = '/run/netpol-lab';
const LOCK_DIR = path.join(REGISTRY_DIR, 'lock');

export interface LabRecord {
  id: string;
  ownerPid: number;
  /** Network namespaces, in creation order. */
  netns: string[];
  /** Links created in the root namespace. */
  rootLinks: string[];
  tmpDir: string;
  /** Docker lab hosts' daemons (see docker.ts). */
  dockerds?: DockerdRecord[];
  /**
   * Processes outside the lab's named namespaces: containers' processes and the listeners the lab
   * runs in their network namespaces (killed at teardown even when their daemon is gone).
   */
  pids?: number[];
}

export function recordPath(id: string): string {
  return path.join(REGISTRY_DIR, `${id}.json`);
}

export function writeRecord(record: LabRecord): void {
  fs.mkdirSync(REGISTRY_DIR, { recursive: true });
  fs.writeFileSync(recordPath(record.id), JSON.stringify(record, null, 2));
}

/** Holds a cross-process lock (a directory holding the owner's pid) while `fn` runs. */
export async function withLabLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(REGISTRY_DIR, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
      } catch {
        /* being created or removed */
      }
      if (Number.isFinite(owner) && owner > 0 && !isAlive(owner)) {
        fs.rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab: lock ${LOCK_DIR} held by pid ${owner} for over 60 s`);
      await sleep(50 + Math.random() * 100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Kills every process inside the namespace, then deletes it. Missing namespaces are fine. */
export async function removeNetns(name: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', name], { check: false });
  if (pids.code === 0) {
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
  await run(['ip', 'netns', 'del', name], { check: false });
}

/** Removes everything a record lists. Idempotent. */
export async function teardownRecord(record: LabRecord): Promise<void> {
  for (const pid of record.pids ?? []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  for (const d of record.dockerds ?? []) await stopDockerd(d, record.pids ?? []);
  for (const ns of [...record.netns].reverse()) await removeNetns(ns);
  for (const link of record.rootLinks) await run(['ip', 'link', 'del', link], { check: false });
  if (record.tmpDir.startsWith('/tmp/netpol-lab-')) fs.rmSync(record.tmpDir, { recursive: true, force: true });
  fs.rmSync(recordPath(record.id), { force: true });
}

/** Tears down labs whose owning process is gone (a test run that was killed). */
export async function sweepStaleLabs(): Promise<string[]> {
  if (!fs.existsSync(REGISTRY_DIR)) return [];
  const swept: string[] = [];
  for (const file of fs.readdirSync(REGISTRY_DIR)) {
    if (!file.endsWith('.json')) continue;
    let record: LabRecord;
    try {
      record = JSON.parse(fs.readFileSync(path.join(REGISTRY_DIR, file), 'utf8')) as LabRecord;
    } catch {
      continue;
    }
    if (!isAlive(record.ownerPid)) {
      await teardownRecord(record);
      swept.push(record.id);
    }
  }
  return swept;
}
