/**
 * A real browser for the pages the project writes: Debian's chromium driven by playwright-core,
 * headless, with a fresh profile and nothing that calls out (no background networking, updates,
 * sync, QUIC). Without /usr/bin/chromium a suite is skipped, saying so; under `CI=true` it fails.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrowserContext, chromium, Page } from "playwright-core";
import { decodePng, rgbAt } from "./png";

export const CHROMIUM = "/usr/bin/chromium";
const HOW_TO_INSTALL = "install it (Debian: apt-get install chromium; .ci/run does)";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** `describe` for a suite that needs Chromium. */
export function describeWithChromium(name: string, body: () => void): void {
  if (fs.existsSync(CHROMIUM)) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      test("Chromium is available (CI=true)", () => {
        throw new Error(`${CHROMIUM} does not exist; ${HOW_TO_INSTALL}`);
      });
    });
  } else {
    process.stdout.write(`\n${name}: skipped, ${CHROMIUM} does not exist; ${HOW_TO_INSTALL}\n`);
    describe.skip(name, body);
  }
}

export interface Browser {
  context: BrowserContext;
  /** Stops the browser (the one this call started) and removes its profile. */
  close(): Promise<void>;
}

/** A fresh headless Chromium, 1 CSS pixel = 1 screen pixel, so screenshots map to page coordinates. */
export async function startBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The colour on screen at a point of the page, from a screenshot of that one pixel. */
export async function screenColour(page: Page, x: number, y: number): Promise<[number, number, number]> {
  const png = await page.screenshot({ clip: { x: Math.floor(x), y: Math.floor(y), width: 1, height: 1 } });
  return rgbAt(decodePng(png), 0, 0);
}
