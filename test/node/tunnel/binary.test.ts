import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { locateCloudflared } from "../../../tunnel/launcher/binary.ts";
import { LauncherError } from "../../../tunnel/launcher/errors.ts";

let dir: string;
const logged: string[] = [];
const log = (message: string): void => void logged.push(message);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "tunnel-binary-"));
  logged.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function executable(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, "#!/bin/sh\nexit 0\n");
  chmodSync(file, 0o755);
  return file;
}

async function failure(promise: Promise<unknown>): Promise<LauncherError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof LauncherError)) throw new Error(`expected a LauncherError, got ${String(error)}`);
  return error;
}

describe("locateCloudflared", () => {
  it("uses CLOUDFLARED_BIN without touching the npm package", async () => {
    const bin = executable("my-cloudflared");
    const importPackage = (): Promise<unknown> => Promise.reject(new Error("must not be imported"));
    await expect(locateCloudflared({ configured: bin, importPackage, log })).resolves.toBe(bin);
  });

  it("says how to fix a CLOUDFLARED_BIN that is missing or not executable", async () => {
    const plain = path.join(dir, "plain");
    writeFileSync(plain, "");
    for (const configured of [path.join(dir, "absent"), plain, dir]) {
      const error = await failure(locateCloudflared({ configured, log }));
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(`CLOUDFLARED_BIN is ${configured}`);
      expect(error.message).toContain("fix the path in tunnel/.env");
    }
  });

  it("uses the npm package's binary when it is already there", async () => {
    const bin = executable("cloudflared");
    let installs = 0;
    const pkg = { bin, install: async (to: string) => (installs++, to) };
    await expect(locateCloudflared({ configured: undefined, importPackage: async () => pkg, log })).resolves.toBe(bin);
    expect(installs).toBe(0);
  });

  it("downloads the binary through the package's install() when it is missing", async () => {
    const bin = path.join(dir, "bin", "cloudflared");
    const installed: string[] = [];
    const pkg = {
      bin,
      install: async (to: string) => {
        installed.push(to);
        mkdirSync(path.dirname(to), { recursive: true });
        writeFileSync(to, "#!/bin/sh\n");
        chmodSync(to, 0o755);
        return to;
      },
    };
    // CommonJS interop can put the exports on `default`: that shape must work too.
    await expect(
      locateCloudflared({ configured: undefined, importPackage: async () => ({ default: pkg }), log }),
    ).resolves.toBe(bin);
    expect(installed).toEqual([bin]);
    expect(logged.join("\n")).toContain("fetching it once");
  });

  it("explains a failed download", async () => {
    const pkg = {
      bin: path.join(dir, "cloudflared"),
      install: () => Promise.reject(new Error("getaddrinfo ENOTFOUND github.com")),
    };
    const error = await failure(locateCloudflared({ configured: undefined, importPackage: async () => pkg, log }));
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain("could not download cloudflared (getaddrinfo ENOTFOUND github.com)");
    expect(error.message).toContain("set CLOUDFLARED_BIN");
  });

  it("explains a missing npm package", async () => {
    const importPackage = (): Promise<unknown> => Promise.reject(new Error("Cannot find package 'cloudflared'"));
    const error = await failure(locateCloudflared({ configured: undefined, importPackage, log }));
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain("run `npm install` in tunnel/");
  });

  it("explains a package without the expected exports", async () => {
    const error = await failure(locateCloudflared({ configured: undefined, importPackage: async () => ({}), log }));
    expect(error.message).toContain("no `bin` and `install` exports");
  });
});
