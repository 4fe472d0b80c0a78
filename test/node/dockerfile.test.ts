/**
 * The Dockerfile, checked without a Docker engine (none runs on the CI machine): every file its
 * stages copy from the build context exists and is not dropped by `.dockerignore`, and the serving
 * stage (production dependencies, `src/`, `migrations/`, `tsconfig.json`) holds everything the
 * entrypoint imports. The second check bundles the entrypoint with esbuild, as the container would
 * load it: a runtime import of a dev dependency, or of a file outside what stage 2 copies, fails here.
 */
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** `[stage index, sources]` of every COPY that reads the build context (not `--from=`). */
function contextCopies(): Array<{ stage: number; sources: string[] }> {
  let stage = -1;
  const copies: Array<{ stage: number; sources: string[] }> = [];
  for (const line of dockerfile.split("\n")) {
    if (/^FROM\s/i.test(line)) stage++;
    const m = /^COPY\s+(.*)$/i.exec(line.trim());
    if (!m || /--from=/.test(m[1]!)) continue;
    const args = m[1]!.split(/\s+/).filter((a) => !a.startsWith("--"));
    copies.push({ stage, sources: args.slice(0, -1) });
  }
  return copies;
}

const isIgnored = (path: string) => ignored.some((pattern) => path === pattern || path.startsWith(`${pattern}/`));

describe("Dockerfile", () => {
  it("copies only files that exist in the build context", () => {
    const copies = contextCopies();
    expect(copies.length).toBeGreaterThan(0);
    for (const { sources } of copies)
      for (const source of sources) {
        if (source === ".") continue;
        expect(existsSync(join(ROOT, source)), `COPY ${source}: not in the repository`).toBe(true);
        expect(isIgnored(source), `COPY ${source}: dropped by .dockerignore`).toBe(false);
      }
  });

  it("serves from what its last stage copies: the entrypoint imports only production dependencies and those files", async () => {
    const entry = /^ENTRYPOINT\s+(\[.*\])/m.exec(dockerfile);
    expect(entry).not.toBeNull();
    const argv = JSON.parse(entry![1]!) as string[];
    const script = argv.find((a) => a.endsWith(".ts"))!;
    expect(argv).toContain("tsx");
    expect(pkg.dependencies.tsx, "tsx runs the entrypoint: it must be a production dependency").toBeDefined();
    const lastStage = Math.max(...contextCopies().map((c) => c.stage));
    const copied = contextCopies().filter((c) => c.stage === lastStage).flatMap((c) => c.sources);
    const bareImports = new Set<string>();
    const result = await build({
      entryPoints: [join(ROOT, script)],
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
      plugins: [
        {
          name: "record-packages",
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (args) => {
              if (!args.path.startsWith("node:")) bareImports.add(args.path.startsWith("@") ? args.path.split("/").slice(0, 2).join("/") : args.path.split("/")[0]!);
              return { external: true };
            });
            // the playground build (tools/build-site.ts, esbuild) is imported only where the dev
            // toolchain is installed, inside a try; the container serves the site its first stage built
            b.onResolve({ filter: /tools\/build-site\.ts$/ }, (args) => ({ path: args.path, external: true }));
          },
        },
      ],
    });
    const files = Object.keys(result.metafile.inputs).map((f) => relative(ROOT, join(ROOT, f)));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) expect(copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, "")}/`)), `${file} is imported but stage 2 does not copy it`).toBe(true);
    for (const name of bareImports) expect(pkg.dependencies[name], `${name} is imported at run time but is not a production dependency`).toBeDefined();
    expect(bareImports.has("onnxruntime-node")).toBe(true);
  });
});
