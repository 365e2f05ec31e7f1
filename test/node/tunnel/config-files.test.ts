// The LAN-side configuration files parse, agree with each other and with the Worker's defaults.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseEnvFile } from "../../../tunnel/launcher/env-file.ts";
import { DEFAULT_PORTS } from "../../../src/config.ts";
import { LAUNCHER_KEYS } from "../../../tunnel/launcher/settings.ts";

const read = (file: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), "utf8");

/** The file without its `#` comment lines (comments may well mention what the settings avoid). */
const withoutComments = (text: string): string =>
  text
    .split("\n")
    .filter((line) => !line.trim().startsWith("#"))
    .join("\n");

/** The [vars] table of wrangler.toml: only `KEY = "string"` lines matter here. */
function wranglerVars(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let section = "";
  for (const raw of toml.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    else if (section === "[vars]") {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/.exec(line);
      if (match?.[1] !== undefined && match[2] !== undefined) vars[match[1]] = match[2];
    }
  }
  return vars;
}

/** `Key=value` lines of one [Section] of a systemd unit. */
function unitSection(unit: string, name: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  let section = "";
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) section = line;
    else if (section === `[${name}]`) {
      const eq = line.indexOf("=");
      entries.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return entries;
}

const declared = wranglerVars(read("wrangler.toml"));
/** The Worker's settings as it reads them: the port follows AI_TOOLKIT_API when wrangler.toml sets none. */
const vars: Record<string, string> = {
  ...declared,
  AI_TOOLKIT_PORT:
    declared.AI_TOOLKIT_PORT ?? String(DEFAULT_PORTS[declared.AI_TOOLKIT_API === "ui" ? "ui" : "bridge"]),
};
const envExample = read("tunnel/.env.example");
const example = parseEnvFile(envExample, "tunnel/.env.example");
const toolkitUrl = `http://${vars.AI_TOOLKIT_HOST}:${vars.AI_TOOLKIT_PORT}`;

interface IngressRule {
  hostname?: string;
  service?: string;
}
interface ComposeService {
  image?: string;
  command?: string | string[];
  env_file?: string | string[] | Array<{ path: string }>;
  environment?: Record<string, unknown> | string[];
  restart?: string;
  profiles?: string[];
  ports?: string[];
  network_mode?: string;
  volumes?: string[];
}

describe("the Worker's defaults", () => {
  it("are the bridge on the GPU box at 192.168.0.152:8012", () => {
    expect(vars.AI_TOOLKIT_API).toBe("bridge");
    expect(vars.AI_TOOLKIT_HOST).toBe("192.168.0.152");
    expect(vars.AI_TOOLKIT_PORT).toBe("8012");
  });
});

describe("tunnel/.env.example", () => {
  it("sets the toolkit address the Worker expects and leaves the token empty", () => {
    expect(example.TOOLKIT_HOST).toBe(vars.AI_TOOLKIT_HOST);
    expect(example.TOOLKIT_PORT).toBe(vars.AI_TOOLKIT_PORT);
    expect(example.TUNNEL_TOKEN).toBe("");
  });

  it("documents every key the launcher reads, and the local toolkit's", () => {
    const documented = new Set(
      envExample.split("\n").flatMap((line) => {
        const match = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line.trim());
        return match?.[1] ? [match[1]] : [];
      }),
    );
    for (const key of [...LAUNCHER_KEYS, "TOOLKIT_DATA_DIR", "AI_TOOLKIT_PATH"]) expect(documented).toContain(key);
  });

  it("is readable the same way by the launcher, docker compose and systemd", () => {
    // No quotes and no comment after a value: systemd would keep them as part of the value.
    for (const line of envExample.split("\n")) {
      if (line.trim() === "" || line.trim().startsWith("#")) continue;
      expect(line).toMatch(/^[A-Z][A-Z0-9_]*=[^\s"'#]*$/);
    }
  });
});

describe("tunnel/config.yml", () => {
  const config = parse(read("tunnel/config.yml")) as {
    tunnel?: string;
    "credentials-file"?: string;
    ingress?: IngressRule[];
  };
  const ingress = config.ingress ?? [];

  it("names a tunnel and its credentials file", () => {
    expect(config.tunnel).toBeTruthy();
    expect(config["credentials-file"]).toMatch(/\.json$/);
  });

  it("routes its hostname to the toolkit the Worker expects", () => {
    const routed = ingress.filter((rule) => rule.hostname);
    expect(routed.length).toBeGreaterThan(0);
    for (const rule of routed) expect(rule.service).toBe(toolkitUrl);
    expect(toolkitUrl).toBe(`http://${example.TOOLKIT_HOST}:${example.TOOLKIT_PORT}`);
  });

  it("ends with the catch-all 404, and every other rule has a hostname", () => {
    expect(ingress.at(-1)).toEqual({ service: "http_status:404" });
    for (const rule of ingress.slice(0, -1)) expect(rule.hostname).toBeTruthy();
  });
});

describe("tunnel/docker-compose.yml", () => {
  const compose = parse(read("tunnel/docker-compose.yml")) as { services: Record<string, ComposeService> };
  const cloudflared = compose.services.cloudflared ?? {};
  const toolkit = compose.services.toolkit ?? {};
  const envFiles = (service: ComposeService): string[] =>
    [service.env_file ?? []].flat().map((entry) => (typeof entry === "string" ? entry : entry.path));
  const environmentKeys = (service: ComposeService): string[] =>
    Array.isArray(service.environment)
      ? service.environment.map((entry) => entry.split("=")[0] ?? "")
      : Object.keys(service.environment ?? {});
  const commandText = (service: ComposeService): string => [service.command ?? []].flat().join(" ");

  it("runs cloudflared with the token from env_file only", () => {
    expect(cloudflared.image).toMatch(/^cloudflare\/cloudflared(:|$)/);
    expect(commandText(cloudflared)).toBe("tunnel --no-autoupdate run");
    expect(envFiles(cloudflared)).toEqual([".env"]);
    expect(environmentKeys(cloudflared)).not.toContain("TUNNEL_TOKEN");
    expect(withoutComments(read("tunnel/docker-compose.yml"))).not.toMatch(/TUNNEL_TOKEN|--token/);
    expect(cloudflared.restart).toBe("unless-stopped");
    // Outbound only: nothing is published.
    expect(cloudflared.ports).toBeUndefined();
  });

  it("runs the local toolkit only under its profile, on the toolkit port, without the token", () => {
    expect(toolkit.profiles).toEqual(["local-toolkit"]);
    expect(toolkit.image).toMatch(/^node:22/);
    expect(commandText(toolkit)).toContain("node toolkit/server.ts");
    expect(envFiles(toolkit)).toEqual([]);
    expect(environmentKeys(toolkit)).not.toContain("TUNNEL_TOKEN");
    expect(toolkit.ports?.some((port) => port.endsWith(`:${vars.AI_TOOLKIT_PORT}`))).toBe(true);
    expect(toolkit.volumes).toEqual(expect.arrayContaining(["./toolkit:/app/toolkit:ro"]));
    expect(toolkit.volumes?.some((volume) => volume.endsWith(":/data"))).toBe(true);
  });
});

describe("tunnel/systemd", () => {
  const unit = read("tunnel/systemd/cloudflared-ai-toolkit.service");
  const service = unitSection(unit, "Service");
  const value = (key: string): string | undefined => service.find(([name]) => name === key)?.[1];

  it("reads the token from tunnel/.env and keeps it off the command line", () => {
    expect(value("EnvironmentFile")).toMatch(/\/tunnel\/\.env$/);
    expect(value("ExecStart")).toMatch(/cloudflared tunnel --no-autoupdate run$/);
    expect(withoutComments(unit)).not.toMatch(/--token|TUNNEL_TOKEN/);
  });

  it("restarts forever and runs without privileges", () => {
    expect(value("Restart")).toBe("always");
    expect(value("RestartSec")).toBeTruthy();
    expect(value("NoNewPrivileges")).toBe("yes");
    expect(value("DynamicUser") === "yes" || Boolean(value("User"))).toBe(true);
    expect(unitSection(unit, "Install")).toContainEqual(["WantedBy", "multi-user.target"]);
  });

  it("has a local toolkit unit reading the same env file", () => {
    const toolkitUnit = unitSection(read("tunnel/systemd/ai-toolkit-local.service"), "Service");
    expect(toolkitUnit).toContainEqual(["EnvironmentFile", value("EnvironmentFile")]);
    expect(toolkitUnit.find(([name]) => name === "ExecStart")?.[1]).toMatch(/node toolkit\/server\.ts$/);
  });
});

describe("tunnel/package.json", () => {
  const pkg = JSON.parse(read("tunnel/package.json")) as {
    type?: string;
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
  };
  const root = JSON.parse(read("package.json")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };

  it("runs the launcher and depends on the cloudflared package, which the Worker's package does not", () => {
    expect(pkg.type).toBe("module");
    expect(pkg.scripts?.tunnel).toBe("node launcher/main.ts");
    expect(pkg.dependencies?.cloudflared).toBeTruthy();
    expect({ ...root.dependencies, ...root.devDependencies }).not.toHaveProperty("cloudflared");
  });
});
