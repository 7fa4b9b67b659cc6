/**
 * The filter table the first apply made (iptables-filter-table.ts), in a network namespace of the
 * test's own with the machine's iptables-nft: the read tells which tables exist; a noted table is
 * removed by delete's script while it is empty, kept while anything else is in it, and a table
 * that was not noted is never touched. Needs root; under CI=true a machine without it fails here.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TABLES_READ_SCRIPT, filterTablesOf, noteMadeFilterTablesScript, removeMadeFilterTablesScript } from "../../../provider/targets/ssh/iptables-filter-table";
import { requireLabPrerequisites } from "../../lab/lab";
import { run } from "../../lab/run";

const netns = `npft${crypto.randomBytes(3).toString("hex")}`;
let stateDir: string;
const place = () => ({ stateDir, table: "netpol_ft1" });
const sh = (script: string) => run(["ip", "netns", "exec", netns, "sh", "-c", script], { check: false });
const tables = async () => filterTablesOf((await sh(TABLES_READ_SCRIPT)).stdout.split("\n"));
const nftTables = async () => (await run(["ip", "netns", "exec", netns, "nft", "list", "tables"])).stdout.trim();

beforeAll(async () => {
  await requireLabPrerequisites();
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-ft-"));
  await run(["ip", "netns", "add", netns]);
});
afterAll(async () => {
  await run(["ip", "netns", "del", netns], { check: false });
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

test("filterTablesOf reads the families whose filter table exists", () => {
  expect(filterTablesOf(["@@tables", "v4 nat", "v4 filter", "v6 mangle"])).toEqual(["v4"]);
  expect(filterTablesOf(["v6 filter", "v4 filter"])).toEqual(["v4", "v6"]);
  expect(filterTablesOf([])).toEqual([]);
});

test("a noted ip6 filter table is removed while empty, kept while it holds a rule; an unnoted one is never touched", async () => {
  expect(await tables()).toEqual([]);
  // what ip6tables-restore of the network's chains leaves behind once the chains are gone
  await sh("ip6tables -N NETPOL_FT1 && ip6tables -X NETPOL_FT1");
  expect(await tables()).toEqual(["v6"]);
  expect(await nftTables()).toBe("table ip6 filter");

  // not noted: stays
  expect((await sh(removeMadeFilterTablesScript(place()))).code).toBe(0);
  expect(await nftTables()).toBe("table ip6 filter");

  // noted, but someone else's rule is in it: stays, the note goes
  expect((await sh(noteMadeFilterTablesScript(place(), ["v6"]))).code).toBe(0);
  expect(fs.readdirSync(stateDir).filter((f) => f.includes("made-v6-filter"))).toHaveLength(1);
  await sh("ip6tables -A INPUT -p tcp --dport 9 -j DROP");
  expect((await sh(removeMadeFilterTablesScript(place()))).code).toBe(0);
  expect((await sh("ip6tables -S INPUT")).stdout).toContain("--dport 9 -j DROP");
  expect(fs.readdirSync(stateDir)).toEqual([]);

  // noted and empty: removed, the note too
  await sh("ip6tables -D INPUT -p tcp --dport 9 -j DROP");
  expect((await sh(noteMadeFilterTablesScript(place(), ["v6"]))).code).toBe(0);
  expect((await sh(removeMadeFilterTablesScript(place()))).code).toBe(0);
  expect(await nftTables()).toBe("");
  expect(await tables()).toEqual([]);
  expect(fs.readdirSync(stateDir)).toEqual([]);
});
