// The official openai package (TypeScript SDK) against Sprint's gateway: n candidates as n choices, streamed, and the
// SPRINT verdict from the `sprint` extension. OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1) and OPENAI_API_KEY are
// read by the SDK itself. Run: npm ci --prefix examples/openai && node examples/openai/chat.mjs
import OpenAI from "openai";

const client = new OpenAI();
const model = (await client.models.list()).data[0].id;
const question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?";
const messages = [{ role: "user", content: question }];

// n = 4, one response: choice i is candidate i; completion.sprint.verdict is the vote.
const completion = await client.chat.completions.create({ model, messages, n: 4, seed: 1, max_tokens: 96 });
for (const c of completion.choices) console.log(`[${c.index}] ${c.finish_reason}: ${c.message.content.trim().split("\n").at(-1)}`);
const verdict = completion.sprint.verdict;
console.log(`verdict: ${verdict.answer} (${verdict.votes.map(v => `${v.answer}: ${v.votes}`).join(", ")}); usage: ${JSON.stringify(completion.usage)}`);

// n = 8, streamed: chunks carry choices[].index; SPRINT's events (plan, checks, verdict) ride in chunk.sprint.
const stream = await client.chat.completions.create({ model, messages, n: 8, seed: 2, max_tokens: 96, stream: true, stream_options: { include_usage: true } });
const texts = [];
for await (const chunk of stream) {
  for (const c of chunk.choices) {
    texts[c.index] = (texts[c.index] ?? "") + (c.delta.content ?? "");
    if (c.finish_reason) console.log(`[${c.index}] ${c.finish_reason} after ${texts[c.index].length} characters`);
  }
  if (chunk.sprint?.verdict) console.log(`verdict: ${chunk.sprint.verdict.answer}, chosen candidate ${chunk.sprint.verdict.chosen_candidate}`);
  if (chunk.usage) console.log(`usage: ${JSON.stringify(chunk.usage)}`);
}
