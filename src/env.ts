/** The Worker's bindings and vars (wrangler.toml). */
export type Env = {
  /** Adapter registry: metadata, versions, domain mapping (migrations/). */
  DB: D1Database;
  /** Static assets (`site/`, `npm run build:site`): the playground, and under `models/` the model package the Worker serves. */
  ASSETS: Fetcher;
  /** Adapter blobs, content-addressed by sha256. */
  ADAPTERS: R2Bucket;
  /** Admin bearer token (a secret: `wrangler secret put ADMIN_TOKEN`, `.dev.vars` locally). */
  ADMIN_TOKEN?: string;
  /** The folder under the assets' `models/` holding the served model package (wrangler.toml: "demo"). */
  MODEL_PACKAGE?: string;
  /**
   * Continuous batching of concurrent requests' decode steps (src/runtime/batcher.ts): "true",
   * "false", or "auto" (wrangler.toml): batched where that changes no text, i.e. fp32 and int4
   * packages (the int8 demo runs one by one).
   */
  BATCHING?: string;
  /** "true" (dev only, via .dev.vars): an empty registry is seeded with the demo adapters and domains (demo model only). */
  SEED_DEMO_ADAPTERS?: string;
  [limit: string]: unknown;
};
