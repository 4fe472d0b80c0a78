import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openBlobDirectory } from "./blob-directory.ts";
import { openSqlite } from "./sqlite.ts";
import { blob } from "./upload.ts";

const fresh = () => mkdtempSync(join(tmpdir(), "lora-edge-registry-"));

describe("the registry's SQLite file (node-sqlite3-wasm)", () => {
  it("is created with its folder and migrated on first open, and opening it again applies nothing twice", async () => {
    const path = join(fresh(), "a", "b", "registry.sqlite");
    for (let i = 0; i < 2; i++) {
      const db = await openSqlite(path);
      expect((await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name)).toEqual(["0001_registry.sql"]);
      db.close();
    }
  });

  it("a batch is one transaction: a failing statement rolls back the ones before it", async () => {
    const db = await openSqlite(join(fresh(), "registry.sqlite"));
    const insert = db.prepare("INSERT INTO adapter_names (name, last_version) VALUES (?1, 1)");
    await expect(db.batch([insert.bind("a"), insert.bind("a")])).rejects.toThrow(/UNIQUE/);
    expect((await db.prepare("SELECT * FROM adapter_names").all()).results).toEqual([]);
    db.close();
  });

  it("three processes sharing one registry register 40 versions of a name each: 1..120, no gap, no duplicate", async () => {
    const dir = fresh();
    const run = promisify(execFile);
    const outs = await Promise.all([1, 2, 3].map((who) => run(process.execPath, ["--import", "tsx", "test/support/registry-writer.ts", dir, String(who), "40"])));
    const versions = outs.flatMap((o) => JSON.parse(o.stdout) as number[]).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  }, 180_000);
});

describe("the blob directory", () => {
  it("stores a blob under its key, whole, and leaves no temporary file", async () => {
    const dir = fresh();
    const blobs = await openBlobDirectory(dir);
    const b = await blob(new Uint8Array([1, 2, 3]));
    const key = `peft/${b.sha256}`;
    expect(await blobs.has(key)).toBe(false);
    expect(await blobs.get(key)).toBeNull();
    await blobs.put(key, b.bytes, b.sha256);
    expect(await blobs.has(key)).toBe(true);
    expect(Array.from((await blobs.get(key))!)).toEqual([1, 2, 3]);
    expect(readdirSync(join(dir, ".tmp"))).toEqual([]);
    await blobs.delete(key);
    await blobs.delete(key); // deleting what is gone is fine
    expect(await blobs.has(key)).toBe(false);
  });

  it("refuses bytes that do not match their sha256, and keys that are not content addresses, storing nothing", async () => {
    const dir = fresh();
    const blobs = await openBlobDirectory(dir);
    const b = await blob(new Uint8Array([1, 2, 3]));
    await expect(blobs.put(`peft/${b.sha256}`, new Uint8Array([1, 2, 4]), b.sha256)).rejects.toThrow(/hashes to/);
    await expect(blobs.put("../escape", b.bytes, b.sha256)).rejects.toThrow(/not a blob key/);
    expect(readdirSync(dir, { recursive: true })).toEqual([".tmp"]);
  });
});
