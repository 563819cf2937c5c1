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

    /// <summary>Features [rows, <see cref="Dimension"/>] of (question, candidate text) rows, any questions mixed (a batch across callers).</summary>
    public float[][] Read(IReadOnlyList<(string Question, string Text)> rows, int batchSize = 16)
    {
        var prompts = rows.Select(r => r.Question).Distinct().ToDictionary(q => q, Prompt);
        var result = new List<float[]>(rows.Count);
        using var _ = inference_mode();
        foreach (var chunk in rows.Chunk(Math.Max(1, batchSize)))
        {
            using var scope = NewDisposeScope();
            var solutions = chunk.Select(r => Solution(prompts[r.Question], r.Text)).ToList();
            var sequences = chunk.Select((r, i) => (IReadOnlyList<int>)prompts[r.Question].Concat(solutions[i]).ToList()).ToList();
            var padded = PaddedPrompts.Right(sequences, lm.Model.Device);
            var hidden = lm.Model.Forward(padded.Ids, padded.Positions, padded.Attend).to(ScalarType.Float32);   // [b, t, hidden]
            var logProbs = nn.functional.log_softmax(lm.Model.Logits(hidden), -1);                               // [b, t, vocab]
            for (int r = 0; r < chunk.Length; r++)
                result.Add(Row(hidden[r], logProbs[r], prompts[chunk[r].Question].Count, solutions[r], chunk[r].Text));
        }
        return result.ToArray();
    }

    /// <summary>The solution's tokens, the last ones when prompt and solution exceed the context.</summary>
    IReadOnlyList<int> Solution(IReadOnlyList<int> prompt, string text)
    {
        var ids = Tokenizer.Encode(text);
        int room = Context - prompt.Count;
        return ids.Count <= room ? ids : ids.Skip(ids.Count - room).ToList();
    }

    /// <param name="hidden">[t, hidden] one row's final hidden states.</param>
    /// <param name="logProbs">[t, vocab] the next-token log-probabilities at each position.</param>
    float[] Row(Tensor hidden, Tensor logProbs, int promptLength, IReadOnlyList<int> solution, string text)
    {
        int s = solution.Count;
        Tensor mean, last;
        float meanLp = 0, minLp = 0, greedyShare = 0;
        if (s == 0)
        {
            mean = last = hidden[promptLength - 1];
        }
        else
        {
            var states = hidden.narrow(0, promptLength, s);                          // [s, hidden]
            mean = states.mean([0]);
            last = states[s - 1];
            var predicted = logProbs.narrow(0, promptLength - 1, s);                 // [s, vocab]: position i predicts token i + 1
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
