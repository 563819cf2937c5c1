# The official openai package (Python) against Sprint's gateway: n candidates as n choices, streamed, and the SPRINT
# verdict from the `sprint` extension (the SDK keeps unknown fields: model_extra). OPENAI_BASE_URL and OPENAI_API_KEY
# are read by the SDK. Run: pip install openai && python3 examples/openai/chat.py
from openai import OpenAI

client = OpenAI()
model = client.models.list().data[0].id
question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?"
messages = [{"role": "user", "content": question}]

completion = client.chat.completions.create(model=model, messages=messages, n=4, seed=1, max_tokens=96)
for c in completion.choices:
    print(f"[{c.index}] {c.finish_reason}: {c.message.content.strip().splitlines()[-1]}")
verdict = completion.model_extra["sprint"]["verdict"]
print(f"verdict: {verdict['answer']}; usage: {completion.usage}")

# SPRINT's own choices go in extra_body, as vLLM's extra sampling parameters do.
stream = client.chat.completions.create(model=model, messages=messages, n=8, seed=2, max_tokens=96, stream=True,
                                        stream_options={"include_usage": True}, extra_body={"aggregation": "verified"})
texts = {}
for chunk in stream:
    for c in chunk.choices:
        texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
        if c.finish_reason:
            print(f"[{c.index}] {c.finish_reason} after {len(texts[c.index])} characters")
    sprint = (chunk.model_extra or {}).get("sprint") or {}
    if "verdict" in sprint:
        print(f"verdict: {sprint['verdict']['answer']}, chosen candidate {sprint['verdict']['chosen_candidate']}")
    if chunk.usage:
        print(f"usage: {chunk.usage}")
