/**
 * report.png: a full-page screenshot of report.html taken by headless
 * Chromium through playwright-core (an optional dependency). The browser is
 * Debian's `chromium` (never downloaded); when either is missing the
 * screenshot is skipped with a message saying what to install, instead of
 * failing the run.
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";

/** Where the browser is looked for: `$ZMP_CHROMIUM`, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.ZMP_CHROMIUM ?? "/usr/bin/chromium";
}

/** Flags that keep Chromium quiet and offline (no sandbox: CI runs as root in a container). */
export const chromiumArgs: readonly string[] = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);

/** playwright-core, an optional dependency: null when it is not installed. */
async function loadPlaywright(): Promise<typeof import("playwright-core") | null> {
  try {
    return await import("playwright-core");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return null;
    throw error;
  }
}

/** Why no browser can be launched here (what to install), or null when one can. */
export async function browserMissing(): Promise<string | null> {
  if (!existsSync(chromiumPath()))
    return `no Chromium at ${chromiumPath()} (apt-get install chromium, or set ZMP_CHROMIUM; npm install playwright-core drives it)`;
  if ((await loadPlaywright()) === null)
    return "playwright-core is not installed (npm install playwright-core; it drives Debian's chromium)";
  return null;
}

/** Launches headless Chromium (a temporary profile), or returns null when it or playwright-core is missing. */
export async function launchChromium(): Promise<Browser | null> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) return null;
  const playwright = await loadPlaywright();
  if (playwright === null) return null;
  return playwright.chromium.launch({ executablePath, args: [...chromiumArgs] });
}

/** Outcome of `screenshot`. */
export type ScreenshotResult = { written: true; path: string } | { written: false; reason: string };

/**
 * Opens `htmlPath`, waits until the report says its charts are drawn
 * (`window.zmpReport.ready`), and writes a PNG to `pngPath`: the section
 * with id `figure` when the report has one (the experiment's headline
 * figure), else the full page.
 */
export async function screenshot(
  htmlPath: string,
  pngPath: string,
  timeoutMs = 20_000,
): Promise<ScreenshotResult> {
  const missing = await browserMissing();
  const browser = missing === null ? await launchChromium() : null;
  if (browser === null) return { written: false, reason: `report.png skipped: ${missing}` };
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(htmlPath).href);
    await page.waitForFunction(
      () => (window as unknown as { zmpReport?: { ready: boolean } }).zmpReport?.ready === true,
      undefined,
      { timeout: timeoutMs },
    );
    // A report with a headline figure shows that section alone (a page of every chart would be
    // thousands of pixels tall); the others the whole page.
    const figure = await page.$("#figure");
    if (figure !== null) await figure.screenshot({ path: pngPath });
    else await page.screenshot({ path: pngPath, fullPage: true });
    return { written: true, path: pngPath };
  } finally {
    await browser.close();
  }
}
