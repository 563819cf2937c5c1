# The official openai package (Python) against Sprint's gateway: SPRINT's answer as the one choice, the n best with
# best_of, and the verdict from the `sprint` extension (the SDK keeps unknown fields: model_extra). OPENAI_BASE_URL
# and OPENAI_API_KEY are read by the SDK. Run: pip install openai && python3 examples/openai/chat.py
from openai import OpenAI

client = OpenAI()
model = client.models.list().data[0].id
question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?"
messages = [{"role": "user", "content": question}]

# Default parameters: the gateway's 8 candidates, one choice: the verdict's chosen candidate.
completion = client.chat.completions.create(model=model, messages=messages, seed=1, max_tokens=96)
print(f"answer: {completion.choices[0].message.content.strip().splitlines()[-1]} ({completion.choices[0].finish_reason})")
verdict = completion.model_extra["sprint"]["verdict"]
print(f"verdict: {verdict['answer']}; usage over all candidates: {completion.usage}")

# best_of is not in the Python SDK's chat signature: it goes in extra_body with SPRINT's own fields.
best3 = client.chat.completions.create(model=model, messages=messages, n=3, seed=1, max_tokens=96,
                                       extra_body={"best_of": 8, "aggregation": "verified"})
for c in best3.choices:
    print(f"[{c.index}] candidate {best3.model_extra['sprint']['choice_candidates'][c.index]}: {c.message.content.strip().splitlines()[-1]}")

# Streamed: progress in the sprint extension; choice 0's content (the answer) once the verdict is in.
stream = client.chat.completions.create(model=model, messages=messages, seed=2, max_tokens=96, stream=True,
                                        stream_options={"include_usage": True})
text, progress = "", 0
for chunk in stream:
    for c in chunk.choices:
        text += c.delta.content or ""
    if "delta" in ((chunk.model_extra or {}).get("sprint") or {}):
        progress += 1
    if chunk.usage:
        print(f"usage: {chunk.usage}")
print(f"streamed: {progress} progress chunks, then the answer: {text.strip().splitlines()[-1]}")
