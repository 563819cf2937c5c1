using Sprint.Answers;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using static TorchSharp.torch;

namespace Sprint.Verification;

/// <summary>
/// What the verifier network reads of one candidate: the question's prompt (the ChatML user turn, as the generator
/// prompts it) followed by the candidate's text, run through the unpruned model once, and summarised as
/// <list type="bullet">
/// <item>the final hidden states (after the last norm) of the solution's tokens, mean-pooled, and the last token's
/// — every solution position has attended to the question, so this is where the question is read;</item>
/// <item>how the unpruned model would have written the text: its mean and minimum token log-probability and the
/// share of tokens that are its own greedy choice (a pruned head's detour shows here);</item>
/// <item>the step check (<see cref="StepChecker"/>: a step checked and none failed; a step failed), whether an
/// answer can be extracted, and the solution's length.</item>
/// </list>
/// A text longer than the context keeps its last tokens (where the final answer is). Rows of one call share the
/// question and are batched together.
/// </summary>
public sealed class SolutionFeatures(LanguageModel lm)
{
    /// <summary>Names the model and the recipe: a verifier is only ever fed the features it was trained on.</summary>
    public string FeaturesId => $"{lm.Id}:{Recipe}";

    /// <summary>The recipe's name and version (change it when the features change).</summary>
    public const string Recipe = "solution-hidden(mean,last)+unpruned-logprob(mean,min,greedy-share)+steps+answer+length:v1";

    const int Scalars = 7;

    public int Dimension => 2 * lm.Config.HiddenSize + Scalars;

    public int Context => lm.Config.MaxPositionEmbeddings;

    HfTokenizer Tokenizer => lm.Tokenizer ?? throw new ArgumentException($"{lm.Directory} has no tokenizer: solutions cannot be read");

    /// <summary>The question's prompt tokens; <see cref="InvalidFieldException"/> on <c>question</c> when it leaves no room for a solution.</summary>
    public IReadOnlyList<int> Prompt(string question)
    {
        var prompt = Tokenizer.Encode(ChatPrompt.Format(question, null));
        if (prompt.Count >= Context) throw new InvalidFieldException("question", $"{prompt.Count} tokens leave no room for a solution in the verifier's {Context}-token context");
        return prompt;
    }

    /// <summary>Features [texts, <see cref="Dimension"/>] of the candidates <paramref name="texts"/> to one question.</summary>
    public float[][] Read(string question, IReadOnlyList<string> texts, int batchSize = 16) =>
        Read(texts.Select(t => (question, t)).ToList(), batchSize);

    /// <summary>
    /// Features [rows, <see cref="Dimension"/>] of (question, candidate text) rows, any questions mixed (a batch across
    /// callers). The rows of one question share its prompt: the prompt is run once, its keys and values kept
    /// (<see cref="PrefixCache"/>), and only the solutions are run, batched, attending to them — the same numbers as
    /// running each prompt + solution whole, for about half the work.
    /// </summary>
    public float[][] Read(IReadOnlyList<(string Question, string Text)> rows, int batchSize = 16)
    {
        var prompts = rows.Select(r => r.Question).Distinct().ToDictionary(q => q, Prompt);
        var result = new float[rows.Count][];
        using var _ = inference_mode();
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Question))
            foreach (var chunk in group.Chunk(Math.Max(1, batchSize)))
            {
                using var scope = NewDisposeScope();
                var prompt = prompts[group.Key];
                var solutions = chunk.Select(i => Solution(prompt, rows[i].Text)).ToList();
                var (promptLast, promptNext, hidden, logProbs) = Forward(prompt, solutions);
                for (int r = 0; r < chunk.Length; r++)
                    result[chunk[r]] = Row(promptLast, promptNext, hidden[r], logProbs[r], solutions[r], rows[chunk[r]].Text);
            }
        return result;
    }

    /// <summary>
    /// The prompt once [1, P], then the solutions [k, S] right-padded at positions P.. attending to the prompt's cached
    /// keys and values and causally to themselves. Returns the prompt's last final hidden state [hidden] and its
    /// next-token log-probabilities [vocab] (they predict every solution's first token), and the solutions' final
    /// hidden states [k, S, hidden] and next-token log-probabilities [k, S, vocab].
    /// </summary>
    (Tensor PromptLast, Tensor PromptNext, Tensor Hidden, Tensor LogProbs) Forward(IReadOnlyList<int> prompt, IReadOnlyList<IReadOnlyList<int>> solutions)
    {
        var device = lm.Model.Device;
        using var cache = new PrefixCache(lm.Config.NumLayers);
        var promptPadded = PaddedPrompts.Right([prompt], device);
        var promptHidden = lm.Model.Forward(promptPadded.Ids, promptPadded.Positions, promptPadded.Attend, cache).to(ScalarType.Float32);   // [1, P, hidden]
        var promptLast = promptHidden[0, prompt.Count - 1];                                                                                // [hidden]
        var promptNext = nn.functional.log_softmax(lm.Model.Logits(promptLast), -1);                                                     // [vocab]

        int k = solutions.Count, p = prompt.Count, s = Math.Max(1, solutions.Max(x => x.Count));
        cache.Expand(k);
        var ids = new long[k * s];
        for (int r = 0; r < k; r++)
            for (int i = 0; i < solutions[r].Count; i++) ids[r * s + i] = solutions[r][i];
        var lengths = tensor(solutions.Select(x => (long)x.Count).ToArray(), device: device).view(k, 1, 1, 1);
        var positions = (arange(s, device: device) + p).view(1, s).expand(k, s);                         // [k, S]
        var query = arange(s, device: device).view(1, 1, s, 1);
        var key = arange(p + s, device: device).view(1, 1, 1, p + s) - p;                               // < 0: a prompt key
        var attend = key.lt(0).logical_or(key.le(query).logical_and(key.lt(lengths))).logical_or(key.eq(query));   // [k, 1, S, P + S]
        var hidden = lm.Model.Forward(tensor(ids, device: device).view(k, s), positions, attend, cache).to(ScalarType.Float32);   // [k, S, hidden]
        var logProbs = nn.functional.log_softmax(lm.Model.Logits(hidden), -1);                          // [k, S, vocab]
        return (promptLast, promptNext, hidden, logProbs);
    }

    /// <summary>
    /// The prompt's keys and values, kept from its pass and put in front of the solutions' at every layer (the
    /// <see cref="IKvCache"/> the model's attention calls).
    /// </summary>
    sealed class PrefixCache(int layers) : IKvCache, IDisposable
    {
        readonly Tensor?[] keys = new Tensor?[layers], values = new Tensor?[layers];
        long rows;

        /// <summary>From now on, every layer's prompt keys and values are put in front of <paramref name="k"/> rows'.</summary>
        public void Expand(long k) => rows = k;

        public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
        {
            if (rows == 0)
            {
                keys[layer] = k.detach().clone().DetachFromDisposeScope();   // [1, kv_heads, P, head_dim], kept past the pass
                values[layer] = v.detach().clone().DetachFromDisposeScope();
                return (k, v);
            }
            return (cat([keys[layer]!.expand(rows, -1, -1, -1), k], 2), cat([values[layer]!.expand(rows, -1, -1, -1), v], 2));
        }

        public void Dispose()
        {
            foreach (var t in keys.Concat(values)) t?.Dispose();
        }
    }

    /// <summary>The solution's tokens, the last ones when prompt and solution exceed the context.</summary>
    IReadOnlyList<int> Solution(IReadOnlyList<int> prompt, string text)
    {
        var ids = Tokenizer.Encode(text);
        int room = Context - prompt.Count;
        return ids.Count <= room ? ids : ids.Skip(ids.Count - room).ToList();
    }

    /// <param name="promptLast">[hidden] the prompt's last final hidden state; <paramref name="promptNext"/> [vocab] what it predicts next.</param>
    /// <param name="hidden">[S, hidden] one solution's final hidden states (padded past its length).</param>
    /// <param name="logProbs">[S, vocab] the next-token log-probabilities at each of its positions.</param>
    float[] Row(Tensor promptLast, Tensor promptNext, Tensor hidden, Tensor logProbs, IReadOnlyList<int> solution, string text)
    {
        int s = solution.Count;
        Tensor mean, last;
        float meanLp = 0, minLp = 0, greedyShare = 0;
        if (s == 0)
        {
            mean = last = promptLast;
        }
        else
        {
            var states = hidden.narrow(0, 0, s);                                      // [s, hidden]
            mean = states.mean([0]);
            last = states[s - 1];
            // Token i is predicted by the position before it: the prompt's last for i = 0, the solution's i - 1 after.
            var predicted = s == 1 ? promptNext.unsqueeze(0) : cat([promptNext.unsqueeze(0), logProbs.narrow(0, 0, s - 1)], 0);   // [s, vocab]
            var tokens = tensor(solution.Select(x => (long)x).ToArray(), device: predicted.device);
            var tokenLp = predicted.gather(1, tokens.unsqueeze(1)).squeeze(1);      // [s]
            meanLp = tokenLp.mean().item<float>();
            minLp = tokenLp.min().item<float>();
            greedyShare = predicted.argmax(1).eq(tokens).to(ScalarType.Float32).mean().item<float>();
        }
        var check = StepChecker.Check(text);
        var features = new float[Dimension];
        mean.cpu().data<float>().CopyTo(features, 0);
        int h = lm.Config.HiddenSize;
        last.cpu().data<float>().CopyTo(features, h);
        features[2 * h] = meanLp;
        features[2 * h + 1] = minLp;
        features[2 * h + 2] = greedyShare;
        features[2 * h + 3] = check is { CheckedSteps: > 0, FailedSteps: 0 } ? 1 : 0;
        features[2 * h + 4] = check.FailedSteps > 0 ? 1 : 0;
        features[2 * h + 5] = AnswerExtractor.Extract(text) is null ? 0 : 1;
        features[2 * h + 6] = (float)Math.Log(1 + s);
        return features;
    }
}
