/**
 * report.png: a full-page screenshot of report.html taken by headless
 * Chromium through playwright-core. The browser is Debian's `chromium`
 * (never downloaded); when it is missing the screenshot is skipped with a
 * message instead of failing the run.
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

/** Launches headless Chromium (a temporary profile), or returns null when the binary is missing. */
export async function launchChromium(): Promise<Browser | null> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) return null;
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath, args: [...chromiumArgs] });
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
  const browser = await launchChromium();
  if (browser === null) {
    return {
      written: false,
      reason: `no Chromium at ${chromiumPath()} (apt-get install chromium, or set ZMP_CHROMIUM); report.png skipped`,
    };
  }
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
