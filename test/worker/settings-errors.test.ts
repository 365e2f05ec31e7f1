import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { workerOver } from "./helpers/instance";

/** A bad setting is reported by name on every route, instead of a bare 500. */
describe("invalid settings", () => {
  for (const [setting, value, path] of [
    ["ALLOWED_ORIGINS", "not an origin", "/"],
    ["TOOLKIT_TIMEOUT_MS", "soon", "/mcp"],
    ["EXPORT_ROOT", "/etc", "/health"],
  ] as const) {
    it(`${setting}=${JSON.stringify(value)} answers ${path} with a message naming it`, async () => {
      const response = await workerOver({ ...env, [setting]: value } as Env)(`http://127.0.0.1:8787${path}`);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).toContain(setting);
      expect(text).toMatch(/settings are invalid.*README\.md, "Settings"/s);
    });
  }
});
