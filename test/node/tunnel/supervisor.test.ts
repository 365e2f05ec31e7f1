// The supervisor against the fake cloudflared, with back-off timings short enough to watch.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cloudflaredInvocation } from "../../../tunnel/launcher/command.ts";
import { supervise, type SupervisorEvent } from "../../../tunnel/launcher/supervisor.ts";
import { createFakeCloudflared, waitFor, type FakeCloudflared } from "./fake-cloudflared.ts";

let fake: FakeCloudflared;
beforeEach(() => {
  fake = createFakeCloudflared();
});
afterEach(() => fake.cleanup());

function start(
  plan: string,
  timings: { initialMs: number; maxMs: number; resetAfterMs: number },
  extra: { ignoreTerm?: boolean; killAfterMs?: number } = {},
) {
  const events: SupervisorEvent[] = [];
  const { args, env } = cloudflaredInvocation("eyJtest", { PATH: process.env.PATH, ...fake.env(plan, extra) });
  const supervisor = supervise({
    command: fake.bin,
    args,
    env,
    backoff: timings,
    stdio: "ignore",
    ...(extra.killAfterMs !== undefined ? { killAfterMs: extra.killAfterMs } : {}),
    onEvent: (event) => events.push(event),
  });
  const delays = (): number[] => events.flatMap((event) => (event.type === "restart-scheduled" ? [event.delayMs] : []));
  return { supervisor, events, delays };
}

describe("supervise", () => {
  it("restarts a child that exits, doubling the delay up to the maximum", async () => {
    const { supervisor, delays } = start("0,0,0,hang", { initialMs: 100, maxMs: 250, resetAfterMs: 60_000 });
    await waitFor("the fourth start", () => fake.starts().length === 4);
    supervisor.stop("SIGTERM");
    await supervisor.done;

    expect(delays()).toEqual([100, 200, 250]);
    // Each start came at least the scheduled delay after the previous one.
    const times = fake.starts().map((record) => record.t);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual((delays()[i] ?? 0) - 5));
    // Every start got the same arguments and the token through the environment only.
    for (const record of fake.starts()) {
      expect(record.argv).toEqual(["tunnel", "--no-autoupdate", "run"]);
      expect(record.token).toBe("eyJtest");
    }
  });

  it("goes back to the initial delay after a child stayed up long enough", async () => {
    // Quick, quick, up 1.5 s (past resetAfterMs), quick, then stays up.
    const { supervisor, delays } = start("0,0,1500,0,hang", { initialMs: 100, maxMs: 2_000, resetAfterMs: 1_000 });
    await waitFor("the fifth start", () => fake.starts().length === 5);
    supervisor.stop();
    await supervisor.done;
    expect(delays()).toEqual([100, 200, 100, 200]);
  });

  it("forwards SIGTERM to the child, waits for it and does not restart it", async () => {
    const { supervisor, events } = start("hang", { initialMs: 50, maxMs: 50, resetAfterMs: 1_000 });
    await waitFor("the start", () => fake.starts().length === 1);
    supervisor.stop("SIGTERM");
    await supervisor.done;

    expect(
      fake
        .records()
        .filter((record) => record.event === "signal")
        .map((record) => record.signal),
    ).toEqual(["SIGTERM"]);
    expect(events.at(-1)).toEqual({ type: "stopped" });
    expect(events.some((event) => event.type === "restart-scheduled")).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fake.starts()).toHaveLength(1);
  });

  it("stops at once while waiting out a back-off", async () => {
    const { supervisor, delays } = start("0", { initialMs: 30_000, maxMs: 30_000, resetAfterMs: 60_000 });
    await waitFor("the scheduled restart", () => delays().length === 1);
    const before = Date.now();
    supervisor.stop("SIGINT");
    await supervisor.done;
    expect(Date.now() - before).toBeLessThan(1_000);
    expect(fake.starts()).toHaveLength(1);
  });

  it("kills a child that ignores the stop signal, after killAfterMs", async () => {
    const { supervisor, events } = start(
      "hang",
      { initialMs: 50, maxMs: 50, resetAfterMs: 1_000 },
      { ignoreTerm: true, killAfterMs: 300 },
    );
    await waitFor("the start", () => fake.starts().length === 1);
    supervisor.stop("SIGTERM");
    await supervisor.done;
    expect(events).toContainEqual({ type: "kill-escalated", afterMs: 300 });
    expect(events).toContainEqual(expect.objectContaining({ type: "exit", signal: "SIGKILL" }));
  });

  it("retries with back-off when the binary cannot be started at all", async () => {
    const events: SupervisorEvent[] = [];
    const supervisor = supervise({
      command: `${fake.dir}/does-not-exist`,
      args: [],
      env: {},
      backoff: { initialMs: 50, maxMs: 100, resetAfterMs: 1_000 },
      stdio: "ignore",
      onEvent: (event) => events.push(event),
    });
    await waitFor(
      "two failed attempts",
      () => events.filter((event) => event.type === "restart-scheduled").length >= 2,
    );
    supervisor.stop();
    await supervisor.done;
    const exit = events.find((event) => event.type === "exit");
    expect(exit && "error" in exit ? (exit.error as NodeJS.ErrnoException).code : undefined).toBe("ENOENT");
  });
});
