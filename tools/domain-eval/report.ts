/**
 * The domain evaluation's report as Markdown (bench/domain-eval-smollm2.md), rendered from the
 * JSON report `npm run eval:domains` writes: the Python matrix (transformers + PEFT), the HTTP API
 * figures, the weighted compositions, the goals of issue #13 met or not, and transcripts.
 */
import type { ComposedResult, HeldoutResult, HeldoutSummary, summarizeComposed } from "./api-eval.ts";

/** What training/eval_domains.py writes (the fields read here). */
export type PythonReport = {
  date: string;
  machine: string;
  base_model: string;
  adapters: Record<string, { path: string; adapter_model_sha256: string; bytes: number }>;
  limit_per_domain: number | null;
  max_new_tokens: Record<string, number>;
  loss: Record<string, Record<string, { loss: number; perplexity: number }>>;
  perplexity_change_own_vs_base: Record<string, number>;
  own_adapter_best: Record<string, boolean>;
  fact_accuracy: Record<string, { base: number; own: number; wrong: number; wrong_adapter: string; questions: number }>;
  fact_accuracy_all: { base: number; own: number; wrong: number };
  seconds_per_config: Record<string, number>;
  versions: Record<string, string>;
  questions: { domain: string; question: string; replies: { base: string; own: string; wrong: string }; correct: { base: boolean; own: boolean; wrong: boolean } }[];
};

/** An adapter's recipe, from its adapter_config.json and (when present) metrics.json. */
export type AdapterRecipe = { r: number; alpha: number; layers: number[] | "all"; targets: string[]; steps?: number; epochs?: number };

export type DomainEvalReport = {
  date: string;
  machine: string;
  command: string;
  max_tokens: number;
  recipes: Record<string, AdapterRecipe>;
  python: PythonReport;
  api: {
    served: { base: string; format?: string; adapters: Record<string, string>; threads: number; concurrency: number };
    seconds: number;
    summary: HeldoutSummary;
    /** replies identical to PEFT's (same question, same config, same length), of those compared */
    same_as_peft: { own: number; base: number; questions: number };
    questions: HeldoutResult[];
  };
  composition: { summary: ReturnType<typeof summarizeComposed>; questions: ComposedResult[] };
};

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const met = (ok: boolean) => (ok ? "met" : "**not met**");
const quote = (s: string) => JSON.stringify(s.length > 260 ? `${s.slice(0, 257)}…` : s);

export function renderDomainReport(r: DomainEvalReport): string {
  const p = r.python;
  const domains = Object.keys(p.fact_accuracy);
  const configs = ["base", ...domains];
  const api = r.api.summary;
  const own = Math.min(...domains.map((d) => p.fact_accuracy[d]!.own));
  const L: string[] = [];
  L.push("# Domain adapters on SmolLM2-135M-Instruct: perplexity, fact accuracy, and the same through the API", "");
  L.push(`Written ${r.date} by \`${r.command}\` on ${r.machine}. Python part (transformers + PEFT, fp32): ${p.date}, ${p.machine}, ${Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`);
  L.push(`Every reply is greedy and at most ${r.max_tokens} new tokens, in Python and through the API; a reply states a fact when it contains one of the fact's accepted strings (\`training/domain_facts.py\`, \`tools/domain-eval/facts.ts\`).`, "");
  L.push("**Adapters** (as served: the folder `npm start` seeds):", "");
  for (const d of domains) {
    const a = p.adapters[d]!;
    const rc = r.recipes[d];
    const recipe = rc ? `r=${rc.r}, α=${rc.alpha}, ${rc.layers === "all" ? "all layers" : `layers ${rc.layers[0]}–${rc.layers[rc.layers.length - 1]} (${rc.layers.length})`}, ${rc.targets.length} projections${rc.steps !== undefined ? `, ${rc.steps} steps` : ""}${rc.epochs !== undefined ? ` (${rc.epochs} epochs)` : ""}` : "";
    L.push(`- ${d}: \`${a.path}\`, ${a.bytes.toLocaleString("en-US")} bytes, sha256 \`${a.adapter_model_sha256.slice(0, 12)}…\`; ${recipe}`);
  }
  L.push("", "## Goals (issue #13)", "", "| goal | measured | |", "| --- | --- | --- |");
  for (const d of domains) {
    const change = p.perplexity_change_own_vs_base[d]!;
    L.push(`| ${d}: own adapter best on ${d}, perplexity ≥ 30 % below the base | ${p.own_adapter_best[d] ? "best" : "not best"}, ${(change * 100).toFixed(1)} % | ${met(p.own_adapter_best[d]! && change <= -0.3)} |`);
  }
  L.push(`| fact accuracy, own adapter ≥ 70 % (each domain) | ${domains.map((d) => `${d} ${pct(p.fact_accuracy[d]!.own)}`).join(", ")} | ${met(own >= 0.7)} |`);
  L.push(`| fact accuracy, base ≤ 15 % | ${pct(p.fact_accuracy_all.base)} | ${met(p.fact_accuracy_all.base <= 0.15)} |`);
  L.push(`| through the API, \`auto\` within 5 points of each question's own adapter | auto ${pct(api.fact_accuracy.all!.auto)} vs own ${pct(api.fact_accuracy.all!.own)} (${api.auto_minus_own_points >= 0 ? "+" : ""}${api.auto_minus_own_points.toFixed(1)} points) | ${met(api.auto_minus_own_points >= -5)} |`);
  L.push("", "## Held-out perplexity (loss), transformers + PEFT", "", `| data \\ model | ${configs.join(" | ")} | own vs base |`, `| --- | ${configs.map(() => "---:").join(" | ")} | ---: |`);
  for (const d of domains) {
    const cell = (c: string) => {
      const v = p.loss[d]![c]!;
      const s = `${v.perplexity.toFixed(2)} (${v.loss.toFixed(3)})`;
      return c === d ? `**${s}**` : s;
    };
    L.push(`| ${d} | ${configs.map(cell).join(" | ")} | ${(p.perplexity_change_own_vs_base[d]! * 100).toFixed(1)} % |`);
  }
  L.push("", "## Fact accuracy on the held-out questions", "");
  L.push(`transformers + PEFT (\`training/eval_domains.py\`), and the same questions through the HTTP API of the Node host (\`${r.api.served.base}\`, ${r.api.served.format ?? "fp32"}, onnxruntime-node, ${r.api.served.threads} thread(s), ${r.api.served.concurrency > 1 ? `${r.api.served.concurrency} questions at a time, decode steps batched` : "one request at a time"}; adapters seeded as \`npm start\` seeds them: ${Object.entries(r.api.served.adapters).map(([d, a]) => `${d} → \`${a}\``).join(", ")}), all domains' questions mixed:`, "");
  L.push("| domain | questions | PEFT base | PEFT own | PEFT wrong adapter | API base | API own (by name) | API `auto` | routed right |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const d of domains) {
    const f = p.fact_accuracy[d]!;
    const a = api.fact_accuracy[d]!;
    L.push(`| ${d} | ${f.questions} | ${pct(f.base)} | ${pct(f.own)} | ${pct(f.wrong)} (${f.wrong_adapter}) | ${pct(a.base)} | ${pct(a.own)} | ${pct(a.auto)} | ${pct(api.routing.per_domain[d]!)} |`);
  }
  const all = api.fact_accuracy.all!;
  L.push(`| all | ${all.questions} | ${pct(p.fact_accuracy_all.base)} | ${pct(p.fact_accuracy_all.own)} | ${pct(p.fact_accuracy_all.wrong)} | ${pct(all.base)} | ${pct(all.own)} | ${pct(all.auto)} | ${pct(api.routing.accuracy)} |`, "");
  const routedTo = (d: string) => Object.entries(api.routing.confusion[d] ?? {}).map(([to, n]) => `${n} → ${to}`).join(", ");
  L.push(`- **Routing** (\`model: "auto"\`, the router's domain and its mapped adapter): ${pct(api.routing.accuracy)} of ${api.questions} questions to their own domain's adapter; ${domains.map((d) => `${d}: ${routedTo(d)}`).join("; ")} ("none": the base).`);
  L.push(`- Of the ${api.auto_equals_own.routed_right} questions routed right, \`auto\` answered exactly what the adapter named explicitly answered in ${api.auto_equals_own.identical} (same adapter, same greedy path).`);
  L.push(`- API vs PEFT (same question, same adapter; PEFT in fp32, the API's ${r.api.served.format ?? "fp32"} package${r.api.served.format === "int4" ? " carries the GGUF's own blocks: the same weights" : ""}): identical replies for ${r.api.same_as_peft.own} of ${r.api.same_as_peft.questions} own-adapter answers and ${r.api.same_as_peft.base} of ${r.api.same_as_peft.questions} base answers; PEFT generates in left-padded batches, the API one sequence at a time; their logits agree within 1e-4 relative L2 (\`test/unit/smollm2-adapters.test.ts\`), so a difference is two greedy paths that split where float32 rounding decides. This run asked the API for ${r.api.seconds.toFixed(0)} s (replies whose inputs were unchanged came from \`<out>.parts/api-replies.json\`).`);
  L.push("", "## Weighted composition (reported, not targeted)", "");
  L.push("Questions that need a fact from two sheets, asked to the equal-weight composition of both domains' adapters (chat's `adapters: [{name, weight}]`), to each adapter alone, to `auto` and to the base:", "");
  L.push("| model | questions | facts stated | questions with both facts |", "| --- | ---: | ---: | ---: |");
  for (const [label, s] of Object.entries(r.composition.summary)) L.push(`| ${label} | ${s.questions} | ${s.facts_stated} / ${s.facts} | ${s.all_stated} |`);
  L.push("");
  for (const q of r.composition.questions) {
    L.push(`**${q.question}** (accepted: ${q.facts.map((f) => `${f.domain} ${JSON.stringify(f.accept[0])}`).join(", ")})`, "");
    for (const [label, a] of Object.entries(q.answers)) L.push(`- ${label} [${a.states.map((s) => (s ? "✓" : "✗")).join("")}]: ${quote(a.reply)}`);
    L.push("");
  }
  L.push("## Transcripts: base vs `auto` (routed adapter), same question", "");
  for (const t of pickTranscripts(r.api.questions, domains)) {
    L.push(`**${t.domain}**: ${t.question} (accepted: ${t.accept.map((a) => JSON.stringify(a)).join(", ")})`, "");
    L.push(`- base${t.correct.base ? " ✓" : " ✗"}: ${quote(t.replies.base)}`);
    L.push(`- \`auto\` → ${t.routed.adapter}${t.correct.auto ? " ✓" : " ✗"}: ${quote(t.replies.auto)}`, "");
  }
  return L.join("\n");
}

/**
 * One question per domain for the transcripts: the first (in file order) routed to its own adapter
 * where the adapter states the fact and the base does not, else the first routed right, else the first.
 */
export function pickTranscripts(results: readonly HeldoutResult[], domains: readonly string[]): HeldoutResult[] {
  return domains.flatMap((d) => {
    const mine = results.filter((r) => r.domain === d);
    const right = mine.filter((r) => r.routed.domain === d);
    const pick = right.find((r) => r.correct.auto && !r.correct.base) ?? right[0] ?? mine[0];
    return pick ? [pick] : [];
  });
}
