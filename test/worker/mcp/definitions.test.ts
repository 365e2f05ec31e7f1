import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readConfig, requestEnv } from "../../../src/config";
import { trainingJobFor, type TrainingJob } from "../../../src/jobs/training-job";
import { publishedOnce } from "../../../src/mcp/published-schema";
import { allTools, createToolkitMcpHandler } from "../../../src/mcp/server";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { obtainAccessToken, type Fetcher } from "../../shared/oauth-flow";
import { mcpPost, workerOver } from "../helpers/instance";
import { mcpRequest, rpcAnswer, send, type ToolCallResult } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

/**
 * Tool definitions are built once per settings and shared by every request of an isolate
 * (src/mcp/server.ts). What must stay per request: the origin in links, the caller's identity,
 * the upstream. What must follow the settings: a new env gets new definitions.
 */

describe("definitions per settings", () => {
  it("are built once for an env and its per-request copies", () => {
    const shared = { ...env } as Env;
    const tools = allTools(readConfig(shared));
    expect(allTools(readConfig(shared))).toBe(tools);
    expect(allTools(readConfig(requestEnv(shared)))).toBe(tools);
    expect(tools.map((tool) => tool.name)).toContain("list_configs");
  });

  it("are built anew for a new env, and follow its settings", async () => {
    const before = allTools(readConfig({ ...env } as Env));
    const after = allTools(readConfig({ ...env, UPLOAD_CAPTION_MAX_CHARS: "77" } as Env));
    expect(after).not.toBe(before);
    const list = await mcpRequest(new ScriptedToolkit(), "tools/list", {}, { UPLOAD_CAPTION_MAX_CHARS: "77" });
    const upload = (list.result as { tools: Array<{ name: string; inputSchema: unknown }> }).tools.find(
      (tool) => tool.name === "create_dataset_upload",
    );
    expect(upload?.inputSchema).toMatchObject({ properties: { default_caption: { maxLength: 77 } } });
  });
});

describe("publishedOnce", () => {
  const schema = z.object({ name: z.string().describe("a name"), steps: z.number().int().default(10) });

  it("answers what zod converts, converted once per direction and target", () => {
    const published = publishedOnce(schema)["~standard"];
    const options = { target: "draft-2020-12" } as const;
    for (const io of ["input", "output"] as const) {
      const first = published.jsonSchema[io](options);
      expect(first).toEqual(schema["~standard"].jsonSchema[io](options));
      expect(published.jsonSchema[io](options)).toBe(first);
    }
    expect(published.jsonSchema.input(options)).not.toEqual(published.jsonSchema.output(options));
    expect(published.jsonSchema.input({ target: "draft-07" })).toEqual(
      schema["~standard"].jsonSchema.input({ target: "draft-07" }),
    );
  });

  it("keeps what it shares with every request frozen, down to the leaves", () => {
    const json = publishedOnce(schema)["~standard"].jsonSchema.input({ target: "draft-2020-12" }) as {
      properties: { name: { description?: string } };
    };
    expect(() => {
      json.properties.name.description = "changed by one request";
    }).toThrow(TypeError);
    expect(json.properties.name.description).toBe("a name");
  });

  it("validates with zod", async () => {
    const published = publishedOnce(schema)["~standard"];
    expect(await published.validate({ name: "x" })).toEqual({ value: { name: "x", steps: 10 } });
    expect((await published.validate({ name: 1 })).issues?.[0]?.path).toEqual(["name"]);
  });
});

describe("concurrent requests in one isolate", () => {
  const ORIGINS = ["http://127.0.0.1:8787", "http://localhost:8787"];
  let address = 0;

  function callOn(fetch: Fetcher, origin: string, token: string, id: number) {
    const params = { name: "create_dataset_upload", arguments: { dataset_name: `cats_${id}` } };
    return mcpPost(fetch, origin, token, "tools/call", {}, { params, id });
  }

  it("give each caller links on the origin it came in on", async () => {
    const fetch = workerOver({ ...env } as Env);
    const tokens: string[] = [];
    for (const origin of ORIGINS) {
      tokens.push(
        await obtainAccessToken(origin, env.OWNER_PASSWORD, fetch, { "CF-Connecting-IP": `198.51.100.${++address}` }),
      );
    }
    // Interleaved: 127.0.0.1, localhost, 127.0.0.1, ... all in flight together.
    const calls = Array.from({ length: 8 }, (_, i) => ({ origin: ORIGINS[i % 2]!, token: tokens[i % 2]!, id: i }));
    const answers = await Promise.all(
      calls.map(async ({ origin, token, id }) => {
        const response = await callOn(fetch, origin, token, id);
        expect(response.status).toBe(200);
        return rpcAnswer(await response.text()).result as ToolCallResult;
      }),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.isError, answer.content[0]?.text).toBeFalsy();
      expect(String(answer.structuredContent?.upload_url)).toMatch(new RegExp(`^${calls[i]!.origin}/uploads/`));
      expect(String(answer.structuredContent?.page_url)).toMatch(new RegExp(`^${calls[i]!.origin}/uploads/`));
    }
  });

  it("give each caller its own identity, with both calls in flight at once", async () => {
    // Each stop_training waits at the toolkit until the other one has arrived there too.
    const toolkit = new ScriptedToolkit();
    let arrived = 0;
    let release!: () => void;
    const bothArrived = new Promise<void>((resolve) => (release = resolve));
    const gated: ToolkitTransport = {
      kind: toolkit.kind,
      target: toolkit.target,
      async fetch(path, init) {
        const body = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : {};
        if (body.tool !== "stop_training") return toolkit.fetch(path, init);
        if (++arrived === 2) release();
        await bothArrived;
        const { job_id } = body.arguments as { job_id: string };
        return Response.json({ success: true, result: { status: "success", job_id }, error: null });
      },
    };
    const jobs = [crypto.randomUUID(), crypto.randomUUID()];
    for (const jobId of jobs) {
      await runInDurableObject(trainingJobFor(env, jobId), (instance: TrainingJob) => {
        instance.upstream = new BridgeUpstream(new ToolkitClient(toolkit, 2_000));
      });
    }
    const callers = [
      { clientId: "client-a", userId: "alice", jobId: jobs[0]! },
      { clientId: "client-b", userId: "bob", jobId: jobs[1]! },
    ];
    const answers = await Promise.all(
      callers.map(async ({ clientId, userId, jobId }) => {
        const config = readConfig(env);
        const handler = createToolkitMcpHandler({
          config,
          upstream: new BridgeUpstream(new ToolkitClient(gated, 2_000)),
          env,
          origin: "http://127.0.0.1:8787",
        });
        // What the OAuth provider hands the API handler for a valid token (ctx.props and ctx.auth).
        const ctx = Object.assign(createExecutionContext(), {
          props: { userId },
          auth: {
            token: `token-of-${clientId}`,
            audience: "http://127.0.0.1:8787/mcp",
            scope: ["toolkit"],
            clientId,
            expiresAt: Math.floor(Date.now() / 1000) + 3600,
          },
        });
        const params = { name: "stop_training", arguments: { job_id: jobId } };
        return (await send(handler, "tools/call", params, ctx)).result as ToolCallResult;
      }),
    );
    expect(arrived).toBe(2);
    for (const [i, answer] of answers.entries()) {
      expect(answer.isError, answer.content[0]?.text).toBeFalsy();
      const { userId, clientId } = callers[i]!;
      expect(answer.structuredContent?.stopped_by).toBe(`${userId} (OAuth client ${clientId})`);
    }
  });
});
