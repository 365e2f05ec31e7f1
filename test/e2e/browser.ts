import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, headless, with nothing that phones home: this machine has no network
 * beyond loopback, and background services would only fill the logs with refusals.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
