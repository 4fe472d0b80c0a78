/**
 * A SQLite file as the registry's database on the Node host, with D1's statement API
 * (`SqlDatabase`) so `SqlRegistry` runs the same SQL as on D1, and the same migrations
 * (migrations/*.sql, recorded in `d1_migrations` as wrangler does).
 *
 * Driver: node-sqlite3-wasm, SQLite compiled to WebAssembly with a VFS on Node's `fs`: it installs
 * from the npm registry alone (no compiler, no prebuilt binary fetched from elsewhere, unlike
 * better-sqlite3), and writes the database file page by page with a rollback journal (sql.js keeps
 * the database in memory and would rewrite the whole file on every change). Its calls are
 * synchronous, so a statement or a batch runs whole before any other JS in this process; across
 * processes it locks the file with a `<file>.lock` directory, and a statement that finds it locked is
 * retried for a while before it fails (a 503 to the client).
 *
 * @example const db = await openSqlite("/var/lib/lora-edge/registry.sqlite"); // created and migrated on first use
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sqlite3 from "node-sqlite3-wasm"; // CommonJS: no named exports in ESM

const { Database } = sqlite3;
type Database = InstanceType<typeof Database>;
import type { SqlDatabase, SqlStatement } from "./sql-registry.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** How long a statement waits for another process's lock before it fails. */
const BUSY_WAIT_MS = 5_000;

type Value = string | number | bigint | Uint8Array | null;
export type SqliteDatabase = SqlDatabase & { close(): void };

/** Open (creating it and its folder if needed) and migrate a registry database file. */
export async function openSqlite(path: string): Promise<SqliteDatabase> {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    await whenUnlocked(() => migrate(db)); // another process may be migrating or writing
  } catch (err) {
    db.close();
    throw err;
  }
  const statement = (sql: string, values: Value[]): Statement => new Statement(db, sql, values);
  return {
    prepare: (sql) => statement(sql, []),
    batch: <T>(statements: SqlStatement[]) =>
      whenUnlocked(() => {
        db.exec("BEGIN IMMEDIATE");
        try {
          const results = statements.map((s) => ({ results: (s as Statement).rows() as T[] }));
          db.exec("COMMIT");
          return results;
        } catch (err) {
          db.exec("ROLLBACK");
          throw err;
        }
      }),
    close: () => db.close(),
  };
}

class Statement implements SqlStatement {
  constructor(
    private readonly db: Database,
    private readonly sql: string,
    private readonly values: Value[],
  ) {}

  bind(...values: unknown[]): SqlStatement {
    return new Statement(this.db, this.sql, values.map((v) => (v === undefined ? null : (v as Value))));
  }

  /** Its rows (none for a statement without RETURNING), now. */
  rows(): Record<string, unknown>[] {
    return this.db.all(this.sql, this.values) as Record<string, unknown>[];
  }

  all<T>(): Promise<{ results: T[] }> {
    return whenUnlocked(() => ({ results: this.rows() as T[] }));
  }

  first<T>(): Promise<T | null> {
    return whenUnlocked(() => (this.rows()[0] as T | undefined) ?? null);
  }

  run(): Promise<{ meta: { changes: number } }> {
    return whenUnlocked(() => ({ meta: { changes: Number(this.db.run(this.sql, this.values).changes) } }));
  }
}

/** Run `work`, retrying while another process holds the database's lock. */
async function whenUnlocked<T>(work: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return work();
    } catch (err) {
      if (!/database is locked|SQLITE_BUSY/i.test(String(err)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Apply the migrations not yet recorded, each in its own transaction, in file name order. */
function migrate(db: Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TEXT NOT NULL)");
  const applied = new Set((db.all("SELECT name FROM d1_migrations") as { name: string }[]).map((r) => r.name));
  for (const name of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).sort()) {
    if (applied.has(name)) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(readFileSync(join(MIGRATIONS_DIR, name), "utf8"));
      db.run("INSERT INTO d1_migrations (name, applied_at) VALUES (?, ?)", [name, new Date().toISOString()]);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw new Error(`migration ${name} failed: ${String(err)}`);
    }
  }
}
