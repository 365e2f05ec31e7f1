import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLOUDFLARED_ARGS, cloudflaredInvocation } from "../../../tunnel/launcher/command.ts";
import { LauncherError } from "../../../tunnel/launcher/errors.ts";
import { DEFAULT_ENV_FILE, loadSettings, mergeEnv } from "../../../tunnel/launcher/settings.ts";

let dir: string;
let envFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "tunnel-settings-"));
  envFile = path.join(dir, "tunnel.env");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function settingsError(env: NodeJS.ProcessEnv): LauncherError {
  try {
    loadSettings(env, dir);
  } catch (error) {
    if (error instanceof LauncherError) return error;
    throw error;
  }
  throw new Error("loadSettings did not fail");
}

describe("loadSettings", () => {
  it("reads the env file named by TUNNEL_ENV_FILE, relative to the working directory", () => {
    writeFileSync(
      envFile,
      "TUNNEL_TOKEN=eyJfile\nTOOLKIT_HOST=10.0.0.5\nTOOLKIT_PORT=9000\nCLOUDFLARED_BIN=/usr/bin/cloudflared\n",
    );
    const settings = loadSettings({ TUNNEL_ENV_FILE: "tunnel.env" }, dir);
    expect(settings).toEqual({
      token: "eyJfile",
      toolkitHost: "10.0.0.5",
      toolkitPort: 9000,
      cloudflaredBin: "/usr/bin/cloudflared",
      envFile,
      envFileFound: true,
    });
  });

  it("lets the process environment override the file, but not with empty values", () => {
    writeFileSync(envFile, "TUNNEL_TOKEN=eyJfile\nTOOLKIT_HOST=10.0.0.5\n");
    const settings = loadSettings({ TUNNEL_ENV_FILE: envFile, TUNNEL_TOKEN: "eyJprocess", TOOLKIT_HOST: "" }, dir);
    expect(settings.token).toBe("eyJprocess");
    expect(settings.toolkitHost).toBe("10.0.0.5");
  });

  it("defaults to the Worker's toolkit address and to tunnel/.env", () => {
    writeFileSync(envFile, "TUNNEL_TOKEN=eyJfile\n");
    const settings = loadSettings({ TUNNEL_ENV_FILE: envFile }, dir);
    expect(settings.toolkitHost).toBe("192.168.0.152");
    expect(settings.toolkitPort).toBe(8012);
    expect(settings.cloudflaredBin).toBeUndefined();
    expect(DEFAULT_ENV_FILE.endsWith(path.join("tunnel", ".env"))).toBe(true);
  });

  it("works from the process environment alone when there is no env file", () => {
    const settings = loadSettings({ TUNNEL_TOKEN: "eyJonly" }, dir, path.join(dir, "absent.env"));
    expect(settings.token).toBe("eyJonly");
    expect(settings.envFileFound).toBe(false);
  });

  it("explains a missing token with exit code 2 and where to get one", () => {
    writeFileSync(envFile, "TUNNEL_TOKEN=\n");
    const error = settingsError({ TUNNEL_ENV_FILE: envFile });
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(
      /^TUNNEL_TOKEN is not set: copy tunnel\/\.env\.example to tunnel\/\.env and paste the token from /,
    );
    expect(error.message).toContain("cloudflared tunnel token");
    expect(error.message).toContain(envFile);
  });

  it("refuses a pasted command instead of a token", () => {
    writeFileSync(envFile, "");
    const error = settingsError({ TUNNEL_TOKEN: "sudo cloudflared service install eyJabc", TUNNEL_ENV_FILE: envFile });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("paste only the token");
  });

  it("refuses a port that is not a number", () => {
    writeFileSync(envFile, "");
    const error = settingsError({ TUNNEL_TOKEN: "eyJ", TOOLKIT_PORT: "80x", TUNNEL_ENV_FILE: envFile });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("TOOLKIT_PORT");
  });

  it("reports a TUNNEL_ENV_FILE that does not exist, and a malformed file", () => {
    expect(settingsError({ TUNNEL_ENV_FILE: "missing.env" }).message).toContain("does not exist");
    writeFileSync(envFile, "just some text\n");
    const error = settingsError({ TUNNEL_ENV_FILE: envFile });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("line 1");
  });
});

describe("mergeEnv", () => {
  it("returns only the launcher's keys", () => {
    expect(mergeEnv({ TUNNEL_TOKEN: "a", OTHER: "x" }, { PATH: "/bin" })).toEqual({
      TUNNEL_TOKEN: "a",
      TOOLKIT_HOST: undefined,
      TOOLKIT_PORT: undefined,
      CLOUDFLARED_BIN: undefined,
    });
  });
});

describe("cloudflaredInvocation", () => {
  it("runs the tunnel with the token in the environment, never in argv", () => {
    const { args, env } = cloudflaredInvocation("eyJsecret", { PATH: "/bin", HOME: "/home/x" });
    expect(args).toEqual(["tunnel", "--no-autoupdate", "run"]);
    expect(args).toEqual(CLOUDFLARED_ARGS);
    expect(args.join(" ")).not.toContain("eyJsecret");
    expect(args).not.toContain("--token");
    expect(env).toEqual({ PATH: "/bin", HOME: "/home/x", TUNNEL_TOKEN: "eyJsecret" });
  });
});
