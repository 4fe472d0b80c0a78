import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { buildSite } from "./tools/build-site.ts";

// Three projects: plain Node for pure code (numerics, builder, router, adapters), workerd (the real
// Workers runtime with miniflare's R2/D1/DO) for the Worker, and a real browser (Debian's chromium,
// headless, WebGPU on SwiftShader) for the playground and the browser runtime.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts", "test/reference/**/*.test.ts", "tools/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // the registry's D1 migrations are applied per test file by test/worker/setup.ts; a test admin
        // token, and no demo seeding even where a developer's .dev.vars (which the pool reads) asks for it
        plugins: [
          cloudflareTest(async () => {
            await buildSite(); // wrangler.toml's [assets] serve site/, the model package among them
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: { bindings: { TEST_MIGRATIONS: await readD1Migrations("./migrations"), ADMIN_TOKEN: "test-admin-token", SEED_DEMO_ADAPTERS: "false" } },
            };
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["./test/worker/setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // one browser at a time: each file starts chromium (and wrangler dev) on a 2-core machine
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
