/**
 * The registry over SQL and a blob store, for every host: blobs under content addresses
 * (`peft/<sha256>` for the two PEFT files, `prepared/<sha256>` for the runtime form), metadata and
 * the domain mapping in SQLite tables (migrations/). The Worker hands it D1 and R2
 * (src/registry/cloudflare.ts), the Node host a SQLite file and a blob directory
 * (src/registry/sqlite.ts, blob-directory.ts).
 *
 * Every write below is one statement or one `batch` (a transaction), so concurrent writers cannot
 * interleave inside it. Within one process, registering (blobs, then the row) and deleting (the
 * row, then blobs no row uses) also take turns, so a delete never removes a blob that an upload of
 * the same bytes is about to point to.
 */
import { LoraEdgeError } from "../errors.ts";
import { sha256Hex } from "../runtime/model-package.ts";
import type { AdapterManifest, AdapterRegistry, DomainExamples, DomainMapping, PreparedUpload, RoutingTable } from "./types.ts";

/** The part of D1's API the registry uses; D1 has it, and src/registry/sqlite.ts gives it to a SQLite file. */
export interface SqlStatement {
  bind(...values: unknown[]): SqlStatement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<{ meta: { changes: number } }>;
}
export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  /** The statements in one transaction; each one's rows. */
  batch<T = Record<string, unknown>>(statements: SqlStatement[]): Promise<Array<{ results: T[] }>>;
}

/** Content-addressed blobs (R2, a directory). Keys are `peft/<sha256>` and `prepared/<sha256>`. */
export interface BlobStore {
  has(key: string): Promise<boolean>;
  /** Write the whole blob or nothing; `sha256` is its content hash (hex). */
  put(key: string, bytes: Uint8Array, sha256: string): Promise<void>;
  /** The blob, or null if there is none. */
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
}

type AdapterRow = {
  name: string; version: number; base_model_hash: string; rank: number; alpha: number; targets: string; dtype: string; dora: number;
  bytes: number; sha256: string; config_sha256: string; prepared_sha256: string; prepared_bytes: number; created: string;
};
type DomainRow = { domain: string; adapter: string; version: number; threshold: number | null; examples: string | null; examples_sha256: string | null; seq: number; updated: string };

/** Blob key of a PEFT file or of a prepared adapter. @example peftKey("ab12…") // "peft/ab12…" */
export const peftKey = (sha256: string) => `peft/${sha256}`;
export const preparedKey = (sha256: string) => `prepared/${sha256}`;

/** A storage call that failed: 503 with Retry-After, so clients retry (other requests are unaffected). */
export function storageUnavailable(what: string, cause: unknown): LoraEdgeError {
  if (cause instanceof LoraEdgeError) return cause;
  return new LoraEdgeError(503, "storage_unavailable", `${what} is unavailable; retry shortly`, { retryAfter: 2, cause });
}

/**
 * @example const registry = new SqlRegistry(db, blobs);
 */
export class SqlRegistry implements AdapterRegistry {
  /** registering and deleting take turns in this process (see the file comment) */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: SqlDatabase,
    private readonly blobs: BlobStore,
  ) {}

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  register(upload: PreparedUpload): Promise<AdapterManifest> {
    return this.inTurn(() => this.registerNow(upload));
  }

  private async registerNow(upload: PreparedUpload): Promise<AdapterManifest> {
    const blobs = [
      { key: peftKey(upload.config.sha256), blob: upload.config },
      { key: peftKey(upload.weights.sha256), blob: upload.weights },
      { key: preparedKey(upload.prepared.sha256), blob: upload.prepared },
    ];
    const created: string[] = [];
    try {
      // blobs first: a row is only ever visible once everything it points to exists
      for (const { key, blob } of blobs) {
        if (await this.blobs.has(key)) continue;
        await this.blobs.put(key, blob.bytes, blob.sha256);
        created.push(key);
      }
      const s = upload.summary;
      // one transaction: bump the name's counter, insert the row with the counter's value
      const [, inserted] = await this.db.batch<AdapterRow>([
        this.db.prepare("INSERT INTO adapter_names (name, last_version) VALUES (?1, 1) ON CONFLICT (name) DO UPDATE SET last_version = last_version + 1").bind(upload.name),
        this.db
          .prepare(
            `INSERT INTO adapters (name, version, base_model_hash, rank, alpha, targets, dtype, dora, bytes, sha256, config_sha256, prepared_sha256, prepared_bytes, created)
             SELECT name, last_version, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 FROM adapter_names WHERE name = ?1 RETURNING *`,
          )
          .bind(upload.name, s.base_model_hash, s.rank, s.alpha, JSON.stringify(s.targets), s.dtype, s.dora ? 1 : 0, s.bytes, upload.weights.sha256, upload.config.sha256, upload.prepared.sha256, upload.prepared.bytes.byteLength, new Date().toISOString()),
      ]);
      return toManifest(inserted!.results[0]!);
    } catch (err) {
      await this.removeUnreferenced(created);
      throw storageUnavailable("adapter storage", err);
    }
  }

  async list(): Promise<AdapterManifest[]> {
    const { results } = await this.query(() => this.db.prepare("SELECT * FROM adapters ORDER BY name, version").all<AdapterRow>());
    return results.map(toManifest);
  }

  async versions(name: string): Promise<AdapterManifest[]> {
    const { results } = await this.query(() => this.db.prepare("SELECT * FROM adapters WHERE name = ? ORDER BY version").bind(name).all<AdapterRow>());
    return results.map(toManifest);
  }

  async resolve(name: string, version?: number): Promise<AdapterManifest | null> {
    const row = await this.query(() =>
      version === undefined
        ? this.db.prepare("SELECT * FROM adapters WHERE name = ? ORDER BY version DESC LIMIT 1").bind(name).first<AdapterRow>()
        : this.db.prepare("SELECT * FROM adapters WHERE name = ? AND version = ?").bind(name, version).first<AdapterRow>(),
    );
    return row ? toManifest(row) : null;
  }

  delete(name: string, version?: number): Promise<AdapterManifest[]> {
    return this.inTurn(() => this.deleteNow(name, version));
  }

  private async deleteNow(name: string, version?: number): Promise<AdapterManifest[]> {
    const v = version ?? null;
    // one statement: the check "no domain maps it" and the delete cannot be split by a concurrent map
    const { results } = await this.query(() =>
      this.db
        .prepare(
          `DELETE FROM adapters WHERE name = ?1 AND (?2 IS NULL OR version = ?2)
           AND NOT EXISTS (SELECT 1 FROM domains d WHERE d.adapter = ?1 AND (?2 IS NULL OR d.version = ?2)) RETURNING *`,
        )
        .bind(name, v)
        .all<AdapterRow>(),
    );
    const label = version === undefined ? name : `${name}@${version}`;
    if (results.length === 0) {
      const mapped = await this.query(() => this.db.prepare("SELECT domain FROM domains WHERE adapter = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY domain").bind(name, v).all<{ domain: string }>());
      if (mapped.results.length > 0) {
        throw new LoraEdgeError(409, "adapter_in_use", `${label} is mapped to domain${mapped.results.length > 1 ? "s" : ""} ${mapped.results.map((r) => r.domain).join(", ")}; remap or delete the domain first`, { param: "name" });
      }
      throw new LoraEdgeError(404, "adapter_not_found", `no adapter ${label}`, { param: "name" });
    }
    const rows = results.map(toManifest);
    await this.removeUnreferenced(rows.flatMap((r) => [peftKey(r.sha256), peftKey(r.config_sha256), preparedKey(r.prepared.sha256)]));
    return rows;
  }

  async mapDomain(domain: string, to: { adapter: string; version?: number; threshold?: number | null; examples?: string[] | null }): Promise<DomainMapping> {
    const examples = to.examples == null ? null : JSON.stringify(to.examples);
    const examplesSha = examples === null ? null : await sha256Hex(new TextEncoder().encode(examples));
    // `undefined` keeps the stored threshold/examples, `null` clears them
    const keepThreshold = to.threshold === undefined ? 1 : 0;
    const keepExamples = to.examples === undefined ? 1 : 0;
    const row = await this.query(() =>
      this.db
        .prepare(
          `INSERT INTO domains (domain, adapter, version, threshold, examples, examples_sha256, seq, updated)
           SELECT ?1, a.name, a.version, ?4, ?5, ?6, COALESCE((SELECT MAX(seq) FROM domains), 0) + 1, ?7
           FROM adapters a WHERE a.name = ?2 AND a.version = COALESCE(?3, (SELECT MAX(version) FROM adapters WHERE name = ?2))
           ON CONFLICT (domain) DO UPDATE SET adapter = excluded.adapter, version = excluded.version,
             threshold = CASE WHEN ?8 THEN domains.threshold ELSE excluded.threshold END,
             examples = CASE WHEN ?9 THEN domains.examples ELSE excluded.examples END,
             examples_sha256 = CASE WHEN ?9 THEN domains.examples_sha256 ELSE excluded.examples_sha256 END,
             seq = CASE WHEN ?9 THEN domains.seq ELSE excluded.seq END,
             updated = excluded.updated
           RETURNING *`,
        )
        .bind(domain, to.adapter, to.version ?? null, to.threshold ?? null, examples, examplesSha, new Date().toISOString(), keepThreshold, keepExamples)
        .first<DomainRow>(),
    );
    if (!row) {
      const label = to.version === undefined ? to.adapter : `${to.adapter}@${to.version}`;
      throw new LoraEdgeError(404, "adapter_not_found", `no adapter ${label} to map domain ${domain} to`, { param: "adapter" });
    }
    return toMapping(row);
  }

  async domains(): Promise<DomainMapping[]> {
    const { results } = await this.query(() => this.db.prepare("SELECT * FROM domains ORDER BY domain").all<DomainRow>());
    return results.map(toMapping);
  }

  async routingTable(): Promise<RoutingTable> {
    const { results } = await this.query(() => this.db.prepare("SELECT * FROM domains ORDER BY domain").all<DomainRow>());
    const learnt = results.filter((r) => r.examples_sha256 !== null).sort((a, b) => a.seq - b.seq);
    return { mappings: results.map(toMapping), examplesSignature: learnt.map((r) => `${r.seq}:${r.domain}:${r.examples_sha256}`).join(",") };
  }

  async domain(domain: string): Promise<DomainMapping | null> {
    const row = await this.query(() => this.db.prepare("SELECT * FROM domains WHERE domain = ?").bind(domain).first<DomainRow>());
    return row ? toMapping(row) : null;
  }

  async unmapDomain(domain: string): Promise<boolean> {
    const res = await this.query(() => this.db.prepare("DELETE FROM domains WHERE domain = ?").bind(domain).run());
    return res.meta.changes > 0;
  }

  async domainExamples(): Promise<DomainExamples[]> {
    const { results } = await this.query(() =>
      this.db.prepare("SELECT domain, examples, examples_sha256 FROM domains WHERE examples IS NOT NULL ORDER BY seq").all<Pick<DomainRow, "domain" | "examples" | "examples_sha256">>(),
    );
    return results.map((r) => ({ domain: r.domain, examples: JSON.parse(r.examples!) as string[], sha256: r.examples_sha256! }));
  }

  async readPrepared(adapter: AdapterManifest): Promise<Uint8Array> {
    try {
      const bytes = await this.blobs.get(preparedKey(adapter.prepared.sha256));
      if (bytes) return bytes;
    } catch (err) {
      throw storageUnavailable(`adapter ${adapter.id}`, err);
    }
    throw new LoraEdgeError(503, "storage_unavailable", `adapter ${adapter.id}: its prepared form is missing from storage`, { retryAfter: 2 });
  }

  /** Delete blobs no remaining row points to (after a failed register or a delete). */
  private async removeUnreferenced(keys: string[]): Promise<void> {
    for (const key of new Set(keys)) {
      const sha = key.slice(key.indexOf("/") + 1);
      try {
        const used = await this.db.prepare("SELECT 1 FROM adapters WHERE sha256 = ?1 OR config_sha256 = ?1 OR prepared_sha256 = ?1 LIMIT 1").bind(sha).first();
        if (!used) await this.blobs.delete(key);
      } catch {
        // best effort: an orphaned blob costs bytes, never correctness (rows are what is served)
      }
    }
  }

  private async query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw storageUnavailable("the adapter registry", err);
    }
  }
}

function toManifest(r: AdapterRow): AdapterManifest {
  return {
    object: "adapter",
    name: r.name,
    version: r.version,
    id: `${r.name}@${r.version}`,
    base_model_hash: r.base_model_hash,
    rank: r.rank,
    alpha: r.alpha,
    targets: JSON.parse(r.targets) as string[],
    dtype: r.dtype,
    dora: r.dora === 1,
    bytes: r.bytes,
    sha256: r.sha256,
    config_sha256: r.config_sha256,
    prepared: { sha256: r.prepared_sha256, bytes: r.prepared_bytes },
    created: r.created,
  };
}

function toMapping(r: DomainRow): DomainMapping {
  return {
    object: "domain",
    domain: r.domain,
    adapter: r.adapter,
    version: r.version,
    threshold: r.threshold,
    examples: r.examples === null ? 0 : (JSON.parse(r.examples) as unknown[]).length,
    updated: r.updated,
  };
}
