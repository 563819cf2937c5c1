// The official openai package (TypeScript SDK) against Sprint's gateway. OPENAI_BASE_URL (e.g.
// http://127.0.0.1:8080/v1) and OPENAI_API_KEY are read by the SDK itself.
// Run: npm ci --prefix examples/openai && node examples/openai/chat.mjs
import OpenAI from "openai";

const client = new OpenAI();
const model = (await client.models.list()).data[0].id;
const question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?";
const messages = [{ role: "user", content: question }];

// Default parameters: best_of (the gateway's 8) candidates, one choice — SPRINT's answer, the verdict's chosen candidate.
const completion = await client.chat.completions.create({ model, messages, seed: 1, max_tokens: 96 });
console.log(`answer: ${completion.choices[0].message.content.trim().split("\n").at(-1)} (${completion.choices[0].finish_reason})`);
const verdict = completion.sprint.verdict;
console.log(`verdict: ${verdict.answer} (${verdict.votes.map(v => `${v.answer}: ${v.votes}`).join(", ")}); usage over all candidates: ${JSON.stringify(completion.usage)}`);

// n = 3 of best_of = 8: three choices, best first (the chosen candidate, then the best of each next answer).
const best3 = await client.chat.completions.create({ model, messages, n: 3, best_of: 8, seed: 1, max_tokens: 96 });
for (const c of best3.choices) console.log(`[${c.index}] candidate ${best3.sprint.choice_candidates[c.index]}: ${c.message.content.trim().split("\n").at(-1)}`);

// Streamed with the SDK's helper: the candidates' progress rides in chunk.sprint (a client that knows it shows the
// race); the content, the chosen candidate's text, comes once the verdict is in.
const runner = client.chat.completions.stream({ model, messages, seed: 2, max_tokens: 96 });
let progress = 0;
runner.on("chunk", chunk => { if (chunk.sprint?.delta) progress++; });
const final = await runner.finalChatCompletion();
console.log(`streamed: ${progress} progress chunks, then the answer: ${final.choices[0].message.content.trim().split("\n").at(-1)}`);
