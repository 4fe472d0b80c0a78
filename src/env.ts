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
  /** "true" (dev only, via .dev.vars): an empty registry is seeded with the demo adapters and domains. */
  SEED_DEMO_ADAPTERS?: string;
  [limit: string]: unknown;
};
