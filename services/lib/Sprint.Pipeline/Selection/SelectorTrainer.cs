using Sprint.Selection;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Pipeline.Selection;

public sealed record SelectorTrainingOptions
{
    public int Dim { get; init; } = 64;
    public int HiddenDim { get; init; } = 256;
    public double Tau { get; init; } = 0.1;
    public int Epochs { get; init; } = 300;
    public int Batch { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 1e-4;
    public int Patience { get; init; } = 30;
    public double DevFraction { get; init; } = 0.15;
    public int Seed { get; init; } = 1;
}

/// <summary>Top-k hit rates on the dev split: the selector, random choice (exact expectation) and the global ranking.</summary>
public sealed record HitRates(int K, double Selector, double Random, double GlobalTop);

public sealed record SelectorTrainingReport(int TrainQuestions, int DevQuestions, int SkippedAllSolved, int SkippedNoneSolved,
    int BestEpoch, double BestDevLoss, IReadOnlyList<HitRates> HitRates);

/// <summary>
/// Trains <see cref="SelectorNetwork"/> on a profile with <see cref="MultiPositiveInfoNce"/>. Questions that every
/// configuration solved or none solved carry no signal about which head to prune and are left out (counted in the
/// report). A seeded dev split drives early stopping on its loss; the best epoch's weights are kept.
/// </summary>
public static class SelectorTrainer
{
    public static (SelectorArtifact Artifact, SelectorTrainingReport Report) Train(Profile profile, SelectorTrainingOptions o, TextWriter log)
    {
        int configs = profile.Configs.Count;
        var informative = profile.Questions.Where(q => q.Solved > 0 && q.Solved < configs).ToList();
        int allSolved = profile.Questions.Count(q => q.Solved == configs), noneSolved = profile.Questions.Count(q => q.Solved == 0);
        if (informative.Count < 4) throw new InvalidOperationException($"only {informative.Count} questions were solved by some but not all configurations: too few to train a selector");
        var random = new Random(o.Seed);
        var shuffled = informative.OrderBy(_ => random.Next()).ToList();
        int devCount = Math.Max(1, (int)Math.Round(shuffled.Count * o.DevFraction));
        var dev = shuffled.Take(devCount).ToList();
        var train = shuffled.Skip(devCount).ToList();
        log.WriteLine($"{train.Count} train / {dev.Count} dev questions ({allSolved} solved by every configuration and {noneSolved} by none left out)");

        torch.manual_seed(o.Seed);
        var network = new SelectorNetwork(profile.Questions[0].Embedding.Length, o.HiddenDim, o.Dim, configs, o.Tau);
        using var optimizer = optim.AdamW(network.parameters(), o.LearningRate, weight_decay: o.WeightDecay);
        var (trainX, trainY) = Tensors(train);
        var (devX, devY) = Tensors(dev);
        double best = double.PositiveInfinity;
        int bestEpoch = 0;
        var bestState = new Dictionary<string, Tensor>();
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            network.train();
            var order = Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()).ToArray();
            foreach (var chunk in order.Chunk(o.Batch))
            {
                using var scope = NewDisposeScope();
                var index = tensor(chunk.Select(i => (long)i).ToArray());
                optimizer.zero_grad();
                var loss = MultiPositiveInfoNce.Loss(network.Scores(trainX.index_select(0, index)), trainY.index_select(0, index));
                loss.backward();
                optimizer.step();
            }
            network.eval();
            double devLoss;
            using (no_grad()) using (var l = MultiPositiveInfoNce.Loss(network.Scores(devX), devY)) devLoss = l.item<float>();
            if (devLoss < best - 1e-5)
            {
                best = devLoss;
                bestEpoch = epoch;
                foreach (var t in bestState.Values) t.Dispose();
                bestState = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            }
            if (epoch % 25 == 0) log.WriteLine($"epoch {epoch}: dev loss {devLoss:F4} (best {best:F4} at epoch {bestEpoch})");
            if (epoch - bestEpoch >= o.Patience) break;
        }
        network.load_state_dict(bestState);
        network.eval();

        var globalOrder = Enumerable.Range(0, configs).OrderByDescending(c => train.Count(q => q.Correct[c])).ThenBy(c => c).ToArray();
        var artifact = new SelectorArtifact(network, new SelectorMetadata
        {
            ModelId = profile.ModelId,
            EncoderId = profile.EncoderId,
            Configs = profile.Configs,
            InputDim = profile.Questions[0].Embedding.Length,
            HiddenDim = o.HiddenDim,
            Dim = o.Dim,
            Tau = o.Tau,
            TrainingDataSha256 = profile.Sha256,
            GlobalRanking = globalOrder.Select(c => profile.Configs[c]).ToArray(),
        });
        var hits = new[] { 1, 2, 4, 8, 16 }.Where(k => k <= configs).Select(k => HitRate(artifact, dev, globalOrder, k)).ToList();
        return (artifact, new SelectorTrainingReport(train.Count, dev.Count, allSolved, noneSolved, bestEpoch, best, hits));
    }

    static (Tensor X, Tensor Y) Tensors(List<ProfiledQuestion> questions)
    {
        int d = questions[0].Embedding.Length, c = questions[0].Correct.Length;
        var x = tensor(questions.SelectMany(q => q.Embedding).ToArray()).view(questions.Count, d);
        var y = tensor(questions.SelectMany(q => q.Correct).ToArray()).view(questions.Count, c);
        return (x, y);
    }

    static HitRates HitRate(SelectorArtifact artifact, List<ProfiledQuestion> dev, int[] globalOrder, int k)
    {
        int configs = globalOrder.Length;
        double selector = dev.Average(q => artifact.TopK(q.Embedding, k).Any(c => q.Correct[c]) ? 1.0 : 0.0);
        double global = dev.Average(q => globalOrder.Take(k).Any(c => q.Correct[c]) ? 1.0 : 0.0);
        // Chance that k configurations drawn without replacement include one of the p positives.
        double randomHit = dev.Average(q => 1 - Enumerable.Range(0, k).Aggregate(1.0, (acc, i) => acc * (configs - q.Solved - i) / (double)(configs - i)));
        return new HitRates(k, selector, Math.Max(0, randomHit), global);
    }
}
