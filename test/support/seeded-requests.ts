// Shared by Node and workerd tests, so no Node imports here.
/** The seeded requests both Node and workerd run (test/worker/generation.test.ts). */
export const SEEDED_REQUESTS = [
  { messages: [{ role: "user", content: "My parcel never arrived, can I get a refund?" }], sampling: { temperature: 0.8, topK: 40, topP: 0.95, seed: 7 }, maxTokens: 12 },
  { messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "What does the pro plan cost?" }], sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 }, maxTokens: 12 },
];
