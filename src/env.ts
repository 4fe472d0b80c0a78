/** The Worker's bindings and vars (wrangler.toml). */
export type Env = {
  /** Admin bearer token (a secret: `wrangler secret put ADMIN_TOKEN`, `.dev.vars` locally). */
  ADMIN_TOKEN?: string;
  [limit: string]: unknown;
};
