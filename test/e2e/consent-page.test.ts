import { describe, expect, it } from "vitest";
import { exchangeCode, pkce, authorizeUrl, registerClient } from "../shared/oauth-flow";
import { useStackAndBrowser } from "./browser";
import { OWNER_PASSWORD } from "./harness";

/**
 * The sign-in page in a real browser, as an owner meets it when Claude Code or the Inspector
 * opens it on `npm run dev`: plain http on loopback, where the consent cookie must still work.
 */
describe("the consent page in chromium", () => {
  const running = useStackAndBrowser();

  it("shows the client, refuses a wrong password, and approves with the right one", async () => {
    const client = await registerClient(running.stack.workerUrl, "Chromium check");
    const { verifier, challenge } = await pkce();
    const page = await running.browser.newPage();
    let location = "";
    // The client's redirect target is not served: catch the Worker's redirect itself.
    page.on("response", (response) => {
      if (response.status() === 302) location = response.headers()["location"] ?? "";
    });

    await page.goto(authorizeUrl(running.stack.workerUrl, client, challenge));
    await expect(page.locator("h1").textContent()).resolves.toContain("Chromium check");
    await expect(page.locator("body").textContent()).resolves.toContain("Access will be sent to 127.0.0.1");

    await page.fill("#password", "not the password");
    await page.click("button.approve");
    await expect(page.locator("[role=alert]").textContent()).resolves.toContain("Wrong password");
    expect(location).toBe("");

    await page.fill("#password", OWNER_PASSWORD);
    await page.click("button.approve");
    await expect.poll(() => location, { timeout: 10_000 }).toContain("code=");
    const code = new URL(location).searchParams.get("code") ?? "";
    const tokens = await exchangeCode(running.stack.workerUrl, client, code, verifier);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
  });

  it("denies with access_denied", async () => {
    const client = await registerClient(running.stack.workerUrl, "Denied app");
    const { challenge } = await pkce();
    const page = await running.browser.newPage();
    let location = "";
    page.on("response", (response) => {
      if (response.status() === 302) location = response.headers()["location"] ?? "";
    });
    await page.goto(authorizeUrl(running.stack.workerUrl, client, challenge));
    await page.click("button[value=deny]");
    await expect.poll(() => location, { timeout: 10_000 }).toContain("error=access_denied");
  });
});
