using System.Text.RegularExpressions;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using Sprint.Pipeline.Selection;
using Sprint.Selection;
using static TorchSharp.torch;

namespace Sprint.Pipeline.Analysis;

/// <summary>
/// Is the helpful head predictable from the question? Cheap probes before any selector tuning: for each question
/// representation, pick a configuration per held-out question by its nearest training questions (cosine, k of them:
/// the configuration that solved most of them) or by a ridge regression per configuration ("will c solve q"), and
/// count how often the pick is right — against greedy (the unpruned model) and the question-independent best (the
/// configuration most accurate on the training questions). Ties go to the lower configuration index (unpruned first).
/// </summary>
public static partial class HeadProbes
{
    /// <summary>Accuracy per level (null: all questions) of one way of choosing a configuration.</summary>
    public sealed record Result(string Representation, string Probe, IReadOnlyDictionary<int, double> ByLevel, double All);

    /// <summary>A held-out fifth of the questions, chosen by a stable hash of seed and question id.</summary>
    public static (int[] Train, int[] Test) Split(Profile profile, ulong seed)
    {
        var test = Enumerable.Range(0, profile.Questions.Count).Where(i => StableSeed.Derive(seed, "probe-split", profile.Questions[i].Id) % 5 == 0).ToArray();
        var held = test.ToHashSet();
        return (Enumerable.Range(0, profile.Questions.Count).Where(i => !held.Contains(i)).ToArray(), test);
    }

    /// <summary>Scores each test question by the share of its k most similar training questions (cosine) each configuration solved.</summary>
    public static int[] NearestNeighbours(float[][] x, bool[][] correct, int[] train, int[] test, int k)
    {
        using var _ = NewDisposeScope();
        var all = nn.functional.normalize(tensor(x.SelectMany(v => v).ToArray()).view(x.Length, -1), p: 2, dim: 1);   // [questions, dim]
        var sims = all.index_select(0, Index(test)).matmul(all.index_select(0, Index(train)).T);                   // [test, train]
        var nearest = sims.topk(Math.Min(k, train.Length), dim: 1).indexes;                                         // [test, k]
        var solved = Correct(correct, train);                                                                        // [train, configs]
        var scores = solved.index_select(0, nearest.flatten()).view(test.Length, -1, solved.shape[1]).mean([1]);     // [test, configs]
        return ArgMax(scores);
    }

    /// <summary>One ridge regression per configuration on standardized features (with a bias), the highest prediction chosen.</summary>
    public static int[] Ridge(float[][] x, bool[][] correct, int[] train, int[] test, double lambda)
    {
        using var _ = NewDisposeScope();
        var all = tensor(x.SelectMany(v => v).ToArray()).view(x.Length, -1).to(ScalarType.Float64);                // [questions, dim]
        var xt = all.index_select(0, Index(train));
        var mean = xt.mean([0], keepdim: true);
        var std = xt.std(0, keepdim: true).clamp_min(1e-8);
        Tensor Design(Tensor rows) => cat([(rows - mean) / std, ones(rows.shape[0], 1, ScalarType.Float64)], 1);   // [n, dim + 1]
        var a = Design(xt);
        var y = Correct(correct, train).to(ScalarType.Float64);                                                      // [train, configs]
        var gram = a.T.matmul(a) + lambda * eye(a.shape[1], dtype: ScalarType.Float64);
        var w = linalg.solve(gram, a.T.matmul(y));                                                                   // [dim + 1, configs]
        return ArgMax(Design(all.index_select(0, Index(test))).matmul(w));
    }

    /// <summary>The same configuration for every question.</summary>
    public static int[] Fixed(int config, int[] test) => test.Select(_ => config).ToArray();

    /// <summary>The configuration most accurate on the training questions.</summary>
    public static int BestOnTraining(bool[][] correct, int[] train) =>
        Enumerable.Range(0, correct[0].Length).MaxBy(c => train.Count(q => correct[q][c]));

    public static Result Score(string representation, string probe, Profile profile, int[] test, int[] chosen)
    {
        var byLevel = test.Select((q, i) => (Level: profile.Questions[q].Level ?? 0, Right: profile.Questions[q].Correct[chosen[i]]))
            .GroupBy(r => r.Level).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Average(r => r.Right ? 1.0 : 0.0));
        return new Result(representation, probe, byLevel, test.Select((q, i) => profile.Questions[q].Correct[chosen[i]]).Average(r => r ? 1.0 : 0.0));
    }

    /// <summary>
    /// Question representations from the model, in one pass per batch (the prompt as the generator sees it):
    /// the mean of the final hidden states (what the shipped encoder uses), the final state of the last prompt token,
    /// the mean of a middle layer, the means of every layer concatenated, and every head's attention entropy.
    /// </summary>
    public static Dictionary<string, float[][]> ModelRepresentations(LanguageModel lm, IReadOnlyList<string> questions, string? systemPrompt = null, int batchSize = 32)
    {
        var tokenizer = lm.Tokenizer ?? throw new ArgumentException($"{lm.Directory} has no tokenizer");
        int layers = lm.Config.NumLayers, middle = layers / 2;
        var names = new[] { "mean of final hidden states", "last prompt token, final", $"mean of layer {middle}", "means of all layers, concatenated", "attention entropy per head" };
        var result = names.ToDictionary(n => n, _ => new List<float[]>());
        using var _ = inference_mode();
        foreach (var chunk in questions.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            var padded = PaddedPrompts.Left(chunk.Select(q => tokenizer.Encode(ChatPrompt.Format(q, systemPrompt))).ToList(), lm.Model.Device);
            var states = lm.Model.HiddenStates(padded.Ids, padded.Positions, padded.Attend).Select(s => s.to(ScalarType.Float32)).ToArray();   // [b, t, hidden] each
            var means = states.Skip(1).Select(s => padded.MeanPool(s).cpu()).ToArray();                                                  // per layer [b, hidden]
            var last = states[^1][.., -1].cpu();                                                                                           // [b, hidden]: left-padded
            var concatenated = cat(means, 1);
            var entropy = lm.Model.AttentionEntropies(padded.Ids, padded.Positions, padded.Attend, padded.Valid(ScalarType.Float32)).to(ScalarType.Float32).cpu();   // [b, layers * heads]
            for (int i = 0; i < chunk.Length; i++)
            {
                result[names[0]].Add(means[^1][i].data<float>().ToArray());
                result[names[1]].Add(last[i].data<float>().ToArray());
                result[names[2]].Add(means[middle - 1][i].data<float>().ToArray());
                result[names[3]].Add(concatenated[i].data<float>().ToArray());
                result[names[4]].Add(entropy[i].data<float>().ToArray());
            }
        }
        return result.ToDictionary(r => r.Key, r => r.Value.ToArray());
    }

    /// <summary>
    /// Simple features of a word problem: how many numbers, the size of the largest and of their sum (log10), how many
    /// sentences (about the steps), its length in words, and counts of the words that signal each operation.
    /// </summary>
    public static float[] ProblemFeatures(string question)
    {
        var numbers = Number().Matches(question).Select(m => double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var words = question.ToLowerInvariant().Split([' ', ',', '.', '?', '!'], StringSplitOptions.RemoveEmptyEntries);
        int Count(params string[] cues) => words.Count(w => cues.Contains(w));
        return
        [
            numbers.Length,
            (float)Math.Log10(1 + numbers.DefaultIfEmpty(0).Max()),
            (float)Math.Log10(1 + numbers.Sum()),
            question.Count(c => c is '.' or '?'),
            words.Length,
            Count("gives", "finds", "buys", "gets", "more", "adds", "receives"),
            Count("loses", "gives", "eats", "sells", "spends", "fewer", "left"),
            Count("each", "times", "twice", "triple", "double"),
            Count("shares", "splits", "equally", "half", "divides", "among", "per"),
        ];
    }

    [GeneratedRegex(@"\d+(\.\d+)?")]
    private static partial Regex Number();

    static Tensor Index(int[] rows) => tensor(rows.Select(r => (long)r).ToArray());

    static Tensor Correct(bool[][] correct, int[] rows) =>
        tensor(rows.SelectMany(r => correct[r].Select(c => c ? 1f : 0f)).ToArray()).view(rows.Length, -1);

    /// <summary>Per row the first index of the highest score (ties to the lower configuration).</summary>
    static int[] ArgMax(Tensor scores)
    {
        var data = scores.to(ScalarType.Float64).cpu().data<double>().ToArray();
        int configs = (int)scores.shape[1];
        return Enumerable.Range(0, (int)scores.shape[0]).Select(r =>
        {
            int best = 0;
            for (int c = 1; c < configs; c++) if (data[r * configs + c] > data[r * configs + best] + 1e-12) best = c;
            return best;
        }).ToArray();
    }
}
