// The Worker isolate's own memory under wrangler dev, read through its inspector: what the
// platform's 128 MB limit is about. The workerd process's resident memory (bench-stats.ts) also
// holds local R2, KV and Durable Objects, which on Cloudflare run elsewhere, so it cannot tell
// the Worker's memory from the simulators'.

import { readFileSync } from "node:fs";
import WebSocket from "ws";

interface HeapUsage {
  usedSize: number;
  /** ArrayBuffers and other memory outside the JS heap that the isolate holds. */
  backingStorageSize?: number;
}

export class IsolateMemory {
  private nextId = 0;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.waiting.get(message.id)?.(message.result);
    });
  }

  /** Connects to the inspector of the Worker that `wrangler dev` (process `wranglerPid`) runs. */
  static async connect(wranglerPid: number): Promise<IsolateMemory> {
    const args = readFileSync(`/proc/${wranglerPid}/cmdline`, "utf8").split("\0");
    const port = args[args.indexOf("--inspector-port") + 1];
    if (!port) throw new Error("wrangler dev was started without --inspector-port");
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
      webSocketDebuggerUrl: string;
    }>;
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no Worker behind the inspector on port ${port}`);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const memory = new IsolateMemory(socket);
    await memory.send("HeapProfiler.enable");
    return memory;
  }

  private send(method: string): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      // The isolate answers between its tasks; one that never does must not hang the bench.
      const late = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the Worker's inspector did not answer ${method} within 30 s`));
      }, 30_000);
      this.waiting.set(id, (result) => {
        clearTimeout(late);
        this.waiting.delete(id);
        resolve(result);
      });
      this.socket.send(JSON.stringify({ id, method }));
    });
  }

  /** Bytes the isolate holds now: its JS heap in use plus the ArrayBuffers and such outside it. */
  async bytes(): Promise<number> {
    const usage = (await this.send("Runtime.getHeapUsage")) as HeapUsage;
    return usage.usedSize + (usage.backingStorageSize ?? 0);
  }

  /**
   * Samples what is live every `everyMs` until stopped, and resolves the peak seen: each sample
   * first has the isolate collect its garbage. The inspector does the collection but never
   * answers it, so it is not awaited; the heap reading sent after it is answered after it.
   * The collections slow the transfer down, so throughput is never taken in the same run.
   */
  sampleLive(everyMs = 100): { stop(): Promise<number> } {
    return this.sampling(everyMs, () => {
      this.socket.send(JSON.stringify({ id: ++this.nextId, method: "HeapProfiler.collectGarbage" }));
      return this.bytes();
    });
  }

  /** Samples `bytes()` every `everyMs` until stopped; resolves the peak seen, garbage included. */
  sample(everyMs = 20): { stop(): Promise<number> } {
    return this.sampling(everyMs, () => this.bytes());
  }

  private sampling(everyMs: number, read: () => Promise<number>): { stop(): Promise<number> } {
    let peak = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        peak = Math.max(peak, await read());
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return Math.max(peak, await read());
      },
    };
  }

  close(): void {
    this.socket.close();
  }
}
