/**
 * `netpol view`: the page it writes, opened from disk in headless Chromium. Colours are read from
 * screenshots, cells are hovered and clicked with the mouse as a person would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Page } from "playwright-core";
import { cellCode, viewData } from "../provider/analyze/view";
import { viewPage, VIEW_COLOURS } from "../provider/analyze/view-page";
import { compile } from "../provider/compile";
import { parseModelText } from "../provider/model/model";
import { Browser, describeWithChromium, screenColour, startBrowser } from "./support/browser";
import { runCli, tempFile } from "./support/cli";
import { ROOT } from "./support/models";

const model = (name: string) => path.join(ROOT, "examples/models", name);
const seed = model("kubernetes-seed.yaml");
const seedText = fs.readFileSync(seed, "utf8");

type Rgb = readonly number[];

/** Writes the page with the CLI; returns its path and the group index of each endpoint. */
async function writeView(argv: string[]): Promise<{ file: string; groupOf: (endpoint: string) => number }> {
  const file = tempFile("view.html", "");
  const r = await runCli(["view", ...argv, "--out", file]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const html = fs.readFileSync(file, "utf8");
  const json = /<script type="application\/json" id="netpol-data">([^<]*)<\/script>/.exec(html);
  if (!json) throw new Error("the page carries no data element");
  const groups: { members: string[] }[] = JSON.parse(json[1]).groups;
  return {
    file,
    groupOf: (endpoint) => {
      const i = groups.findIndex((g) => g.members.includes(endpoint));
      if (i < 0) throw new Error(`no group holds ${endpoint}`);
      return i;
    },
  };
}

/** Where cell (row s, column d) is on screen, from the geometry the canvas publishes. */
async function cellBox(page: Page, s: number, d: number): Promise<{ x: number; y: number; size: number; ring: number }> {
  const canvas = page.locator("#matrix");
  const box = await canvas.boundingBox();
  if (!box) throw new Error("the matrix is not on screen");
  // The tests compile without the DOM's types; the canvas is an element with a dataset.
  const geometry = await canvas.evaluate((c) => ({ ...(c as unknown as { dataset: Record<string, string> }).dataset }));
  const size = Number(geometry.cell);
  return { x: box.x + Number(geometry.left) + d * size, y: box.y + Number(geometry.top) + s * size, size, ring: Number(geometry.ring) };
}

async function centreColour(page: Page, s: number, d: number): Promise<Rgb> {
  const c = await cellBox(page, s, d);
  return screenColour(page, c.x + c.size / 2, c.y + c.size / 2);
}

/** A point on the cell's frame, where an opened or closed cell carries its mark. */
async function frameColour(page: Page, s: number, d: number): Promise<Rgb> {
  const c = await cellBox(page, s, d);
  return screenColour(page, c.x + Math.floor(c.ring / 2), c.y + c.size / 2);
}

async function clickCell(page: Page, s: number, d: number): Promise<void> {
  const c = await cellBox(page, s, d);
  await page.mouse.click(c.x + c.size / 2, c.y + c.size / 2);
}

describeWithChromium("netpol view in Chromium", () => {
  let browser: Browser;
  let page: Page;
  /** Every URL the page asked for, and every script error. */
  let requests: string[];
  let errors: string[];

  beforeAll(async () => { browser = await startBrowser(); }, 60_000);
  afterAll(async () => { await browser?.close(); });
  beforeEach(async () => {
    page = await browser.context.newPage();
    requests = [];
    errors = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(e.message));
  });
  afterEach(async () => { await page.close(); });

  async function open(file: string): Promise<void> {
    await page.goto(`file://${file}`);
    await page.locator("#matrix").waitFor();
  }

  test("the Kubernetes seed: allowed, partly allowed and denied cells in their colours; a click names the deciding rule", async () => {
    const { file, groupOf } = await writeView([seed]);
    await open(file);
    const db = groupOf("default/db");
    const frontend = groupOf("default/frontend");
    const outsider = groupOf("other/client");
    const other = groupOf("default/other");
    // tcp is shown first: the frontend reaches db on tcp/6379 only, other/client not at all, db is open.
    expect(await page.locator('#protocols button[aria-pressed="true"]').textContent()).toBe("tcp");
    expect(await centreColour(page, frontend, db)).toEqual(VIEW_COLOURS.fewAllowed);
    expect(await centreColour(page, outsider, db)).toEqual(VIEW_COLOURS.denied);
    expect(await centreColour(page, other, frontend)).toEqual(VIEW_COLOURS.allowed);
    expect(await centreColour(page, db, db)).toEqual(VIEW_COLOURS.sameEndpoint);

    const c = await cellBox(page, frontend, db);
    await page.mouse.move(c.x + c.size / 2, c.y + c.size / 2);
    await expect(page.locator("#tooltip").textContent()).resolves.toContain("allowed tcp/6379 — networkPolicies[0].spec.ingress[0].from[1]");

    await clickCell(page, outsider, db);
    const rules = await page.locator("#details li.rule").allTextContents();
    expect(rules[0]).toBe("denied tcp/* — default deny (isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows)");
    expect(await page.locator("#details h2").textContent()).toBe("default/other, other/client (2 endpoints) → default/db");

    // Members on demand: the list is built when its summary is opened.
    expect(await page.locator("#details li.member").count()).toBe(0);
    await page.locator("#details summary").first().click();
    await page.locator("#details li.member").first().waitFor(); // the toggle event comes after the click
    expect(await page.locator("#details li.member").allTextContents()).toEqual(["default/other", "other/client"]);

    // Another protocol: udp to db is denied for the frontend too.
    await page.locator("#protocols button", { hasText: /^udp$/ }).click();
    expect(await centreColour(page, frontend, db)).toEqual(VIEW_COLOURS.denied);
    expect(await centreColour(page, other, frontend)).toEqual(VIEW_COLOURS.allowed);

    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
  });

  test("--diff marks the opened and the closed cells, and a click says what changed", async () => {
    // Rancher label isolation → stack isolation: within stack_one everything opens, qa → qa across stacks closes.
    const { file, groupOf } = await writeView([model("rancher-stack-isolation.yaml"), "--diff", model("rancher-label-isolation.yaml")]);
    await open(file);
    const one = groupOf("stack_one/service_one");
    const two = groupOf("stack_one/service_two");
    const qaElsewhere = groupOf("stack_two/service_one");
    const unchanged = groupOf("stack_two/service_two");
    expect(await frameColour(page, one, two)).toEqual(VIEW_COLOURS.opened);
    expect(await centreColour(page, one, two)).toEqual(VIEW_COLOURS.allowed);
    expect(await frameColour(page, one, qaElsewhere)).toEqual(VIEW_COLOURS.closed);
    expect(await centreColour(page, one, qaElsewhere)).toEqual(VIEW_COLOURS.denied);
    // A cell whose verdict stayed has no frame: the frame's point shows the verdict colour.
    expect(await frameColour(page, one, unchanged)).toEqual(VIEW_COLOURS.denied);

    await clickCell(page, one, two);
    expect(await page.locator("#details li.change").allTextContents()).toEqual(["+ allowed all traffic by network.policy[0]"]);
    expect(await page.locator("#endpoint-changes").textContent()).toMatch(/^\d+ cell\(s\) changed$/);

    // The list of changed cells jumps to one: its details say what changed.
    await page.locator("#changed-cells summary").click();
    const entry = page.locator("#changed-cells button.changed-cell", { hasText: /^stack_one\/service_one → stack_two\/service_one$/ });
    await entry.click();
    expect(await page.locator("#details h2").textContent()).toBe("stack_one/service_one → stack_two/service_one");
    expect(await page.locator("#details li.change").allTextContents()).toEqual(["- denied  all traffic was network.policy[0], now default deny (network.defaultPolicyAction)"]);
    const listed = await page.locator("#changed-cells li").count();
    expect(await page.locator("#endpoint-changes").textContent()).toBe(`${listed} cell(s) changed`);
    expect(errors).toEqual([]);
  });

  test("--diff of the seed's port change: one cell both opened and closed, the changes in netpol diff's words", async () => {
    const after = tempFile("after.yaml", seedText.replace("port: 6379", "port: 6380"));
    const { file, groupOf } = await writeView([after, "--diff", seed]);
    await open(file);
    const db = groupOf("default/db");
    const frontend = groupOf("default/frontend");
    expect(await frameColour(page, frontend, db)).toEqual(VIEW_COLOURS.openedAndClosed);
    expect(await frameColour(page, groupOf("other/client"), db)).toEqual(VIEW_COLOURS.denied);
    await clickCell(page, frontend, db);
    expect(await page.locator("#details li.change").allTextContents()).toEqual([
      "- denied  tcp/6379 was networkPolicies[0].spec.ingress[0].from[1], now default deny (isolated for ingress by networkPolicies[0] (default/test-network-policy); no rule allows)",
      "+ allowed tcp/6380 by networkPolicies[0].spec.ingress[0].from[1]",
    ]);
  });

  test("cells of two characters (more outcomes than one digit holds) are read back: colours by outcome", async () => {
    // 10 × 10 groups, every cell its own outcome: 100 outcomes, so each cell takes two characters.
    const groups = Array.from({ length: 10 }, (_, i) => ({ label: `g${i}`, members: [`g${i}/a`, `g${i}/b`] }));
    const outcomes = Array.from({ length: 100 }, (_, k) => ({ heat: [k % 3 === 0 ? 0 : 8], lines: [[`outcome ${k}`]] }));
    const data = { title: "wide", protocols: ["tcp"], groups, outcomes, cells: cellCode(outcomes.map((_, k) => k)) };
    expect(data.cells.width).toBe(2);
    const file = tempFile("wide.html", viewPage(data));
    await open(file);
    for (const k of [0, 1, 87, 88, 99]) {
      expect(await centreColour(page, Math.floor(k / 10), k % 10)).toEqual(k % 3 === 0 ? VIEW_COLOURS.denied : VIEW_COLOURS.allowed);
    }
    await clickCell(page, 9, 9);
    expect(await page.locator("#details li.rule").first().textContent()).toBe("outcome 99");
  });

  test("model strings are text, never markup or script", async () => {
    // The model's schemas refuse '<', quotes and '&' in names, so the hostile strings are put into
    // the page's data directly: what the page must withstand if a string ever got through.
    const hostile = ['</script><script>window.__injected = 1</script>', '<img src=x onerror="window.__injected = 2">', `"'&amp;<!--`];
    const data = viewData("seed", compile(parseModelText(seedText, seed)));
    data.title = hostile[0];
    data.groups[0].label = hostile[1];
    data.groups[0].members = [...hostile];
    data.outcomes[0].lines[1] = [hostile[2]];
    const html = viewPage(data);
    for (const h of hostile) expect(html).not.toContain(h);
    const file = tempFile("hostile.html", html);
    await open(file);
    expect(await page.title()).toBe(`netpol view — ${hostile[0]}`);
    expect(await page.locator("h1").textContent()).toBe(`Who may reach whom — ${hostile[0]}`);
    expect(await page.evaluate("window.__injected")).toBeUndefined();
    await clickCell(page, 0, 1);
    expect(await page.locator("#details h2").textContent()).toContain(hostile[1]);
    expect(await page.locator("#details li.rule").first().textContent()).toBe(hostile[2]);
    await page.locator("#details summary").first().click();
    await page.locator("#details li.member").first().waitFor(); // the toggle event comes after the click
    expect(await page.locator("#details li.member").allTextContents()).toEqual(hostile);
    expect(await page.locator("#details img").count()).toBe(0);
    expect(await page.evaluate("window.__injected")).toBeUndefined();
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
  });
});

describe("netpol view without a browser", () => {
  test("--out is required", async () => {
    const r = await runCli(["view", seed]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--out is required");
  });

  test("a folder that does not exist: exit 1 naming the path and the fix, nothing written", async () => {
    const r = await runCli(["view", seed, "--out", "/nonexistent/dir/view.html"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("/nonexistent/dir/view.html: cannot write the page: its folder does not exist; give --out a path in an existing, writable folder\n");
    expect(fs.existsSync("/nonexistent/dir")).toBe(false);
  });

  test("a bad OLD model: exit 1 naming its path, no page written", async () => {
    const bad = tempFile("old.yaml", "endpoints: [{ name: '-x', ips: [10.0.0.1] }]\n");
    const out = tempFile("view.html", "before");
    const r = await runCli(["view", seed, "--diff", bad, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}: endpoints[0].name`);
    expect(fs.readFileSync(out, "utf8")).toBe("before");
  });

  test("the page is self-contained: no URL to load, the data embedded", async () => {
    const out = tempFile("view.html", "");
    expect((await runCli(["view", seed, "--out", out])).code).toBe(0);
    const html = fs.readFileSync(out, "utf8");
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("default-src 'none'");
  });
});
