import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: "worker" runs inside workerd (the Worker's own modules, bindings simulated);
// "node" runs in Node (the local toolkit, the tunnel launcher, and end-to-end suites that
// start `wrangler dev` and talk to it with real MCP clients).
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Never the real LAN address: tests only ever talk to loopback.
              bindings: { OWNER_PASSWORD: "test-owner-password", AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9" },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          // A few suites move hundreds of megabytes through R2 (zip bombs, tus uploads): seconds on
          // a quiet machine, more on a busy two-core one. Time limits of the code under test are
          // set by each test; this only keeps a slow machine from failing a correct test.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts", "test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // End-to-end suites each start their own wrangler dev; two cores do not
          // run several at once well.
          fileParallelism: false,
        },
      },
    ],
  },
});
