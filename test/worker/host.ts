/**
 * The Worker as a `TestHost` (test/http/support.ts): requests go to the Worker's default export
 * inside workerd, storage is miniflare's R2 and D1, and faults are an R2 binding whose reads fail.
 */
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { embeddedBase, embeddedEngine, workerDeps } from "../../src/index.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { CloudflareRegistry } from "../../src/registry/cloudflare.ts";
import { DEMO_ADAPTERS } from "../../src/registry/demo-adapters.ts";
import { seedAdapters } from "../../src/registry/seed.ts";
import type { BlobFault, StorageSnapshot, TestHost } from "../http/support.ts";

const e = env as unknown as Env;
const worker = (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default;

/** The same app in this isolate, for bodies that are streams (`TestHost.fetchStreamed`). */
const inProcess = createApp(workerDeps(e));

export const workerHost: TestHost = {
  kind: "worker",
  fetch: (r) => worker.fetch(r),
  fetchStreamed: (r) => Promise.resolve(inProcess.fetch(r, e)),
  engine: embeddedEngine,
  storageSnapshot,
  async withDeps(o) {
    const vars = { ...e, ...Object.fromEntries(Object.entries(o.limits ?? {}).map(([k, v]) => [k, String(v)])) } as Env;
    const app = createApp(workerDeps(vars, { ...(o.admission ? { admission: o.admission } : {}), ...(o.fault ? { bucket: faultyBucket(e.ADAPTERS, o.fault) } : {}), ...(o.cache ? { cache: o.cache } : {}), ...(o.stored ? { stored: o.stored } : {}) }));
    return { fetch: (r) => Promise.resolve(app.fetch(r, vars)) };
  },
  async seedDemo() {
    return seedAdapters(new CloudflareRegistry(e.DB, e.ADAPTERS), await embeddedBase(), readLimits(e), DEMO_ADAPTERS);
  },
};

/** Every R2 key (with its etag) and every row of every registry table. */
async function storageSnapshot(): Promise<StorageSnapshot> {
  const blobs: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await e.ADAPTERS.list(cursor ? { cursor } : {});
    blobs.push(...page.objects.map((o) => `${o.key} ${o.etag} ${o.size}`));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const rows: Record<string, unknown[]> = {};
  for (const table of ["adapter_names", "adapters", "domains"]) rows[table] = (await e.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()).results;
  return { blobs: blobs.sort(), rows };
}

/** The real R2 binding, with `get` of keys the fault hits failing or stalling. */
function faultyBucket(real: R2Bucket, f: BlobFault): R2Bucket {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get") {
        return async (key: string, options?: R2GetOptions) => {
          if (f.hit(key)) {
            if (f.fault === "fail") throw new Error("R2 GET failed: internal error");
            await new Promise((r) => setTimeout(r, 3_000));
          }
          return target.get(key, options);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
