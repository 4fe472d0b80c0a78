/**
 * The registry on Cloudflare: metadata and the domain mapping in D1, blobs in R2, through the one
 * `SqlRegistry` every host uses.
 *
 * Why D1 rather than a SQLite-backed Durable Object: both are strongly consistent SQLite with one
 * writer, which is what "register, then route" and gapless versions need (KV is eventually
 * consistent). D1 is that, reachable from every isolate through a plain binding, with migrations
 * applied by wrangler and readable in tests; a DO would need its own class, routing of every read
 * through one object, and hand-written migrations for the same guarantees.
 */
import { SqlRegistry, type BlobStore } from "./sql-registry.ts";

/**
 * @example const registry = new CloudflareRegistry(env.DB, env.ADAPTERS);
 */
export class CloudflareRegistry extends SqlRegistry {
  constructor(db: D1Database, bucket: R2Bucket) {
    super(db, r2Blobs(bucket));
  }
}

/** An R2 bucket as a blob store; R2 checks each put against its sha256. */
function r2Blobs(bucket: R2Bucket): BlobStore {
  return {
    has: async (key) => (await bucket.head(key)) !== null,
    put: async (key, bytes, sha256) => void (await bucket.put(key, bytes, { sha256 })),
    get: async (key) => {
      const obj = await bucket.get(key);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    },
    delete: (key) => bucket.delete(key),
  };
}
