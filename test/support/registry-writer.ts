/**
 * A process that registers `count` versions of adapter `x` in the registry at `dir` (SQLite file +
 * blob directory), as one replica of several sharing storage would; prints the versions it got.
 * Run by src/registry/sqlite.test.ts: `node --import tsx test/support/registry-writer.ts <dir> <who> <count>`.
 */
import { openSqlite } from "../../src/registry/sqlite.ts";
import { openBlobDirectory } from "../../src/registry/blob-directory.ts";
import { SqlRegistry } from "../../src/registry/sql-registry.ts";
import { blob } from "../../src/registry/upload.ts";

const [dir, who, count] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const db = await openSqlite(`${dir}/registry.sqlite`);
const registry = new SqlRegistry(db, await openBlobDirectory(`${dir}/blobs`));
const versions: number[] = [];
for (let i = 0; i < count; i++) {
  const upload = {
    name: "x",
    summary: { base_model_hash: "h", rank: 4, alpha: 8, targets: ["q_proj"], dtype: "F16", dora: false, bytes: 3 },
    config: await blob(new Uint8Array([1])),
    weights: await blob(new Uint8Array([who, i])),
    prepared: await blob(new Uint8Array([9, who, i])),
  };
  versions.push((await registry.register(upload)).version);
}
db.close();
console.log(JSON.stringify(versions));
