import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startStack, type Stack } from "./harness";

/**
 * Debian's Chromium, headless, with nothing that phones home: this machine has no network
 * beyond loopback, and background services would only fill the logs with refusals.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A running stack and a browser for one describe block, started before its tests and stopped after. */
export function useStackAndBrowser(): { readonly stack: Stack; readonly browser: Browser } {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  return {
    get stack() {
      if (!stack) throw new Error("the stack is not started yet");
      return stack;
    },
    get browser() {
      if (!browser) throw new Error("the browser is not started yet");
      return browser;
    },
  };
}
