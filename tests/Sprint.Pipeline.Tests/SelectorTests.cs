using Sprint.Pipeline.Selection;
using Sprint.Selection;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Pipeline.Tests;

[Collection(TorchGlobalSeed.Name)]
public sealed class SelectorTests
{
    [Fact]
    public void Multi_positive_infonce_and_its_gradient_match_a_hand_computed_case()
    {
        // scores (1, 0, 2), positives {0, 2}: log-softmax = s - log(e + 1 + e^2) = s - 2.407606
        var scores = tensor(new float[] { 1, 0, 2 }).view(1, 3).requires_grad_(true);
        var positives = tensor(new[] { true, false, true }).view(1, 3);
        var loss = MultiPositiveInfoNce.Loss(scores, positives);
        Assert.Equal(0.907606, loss.item<float>(), 5);
        loss.backward();
        // d/ds = softmax(s) - positives / |P| = (0.244728 - 0.5, 0.090031, 0.665241 - 0.5)
        var grad = scores.grad!.data<float>().ToArray();
        Assert.Equal(-0.255272, grad[0], 5);
        Assert.Equal(0.090031, grad[1], 5);
        Assert.Equal(0.165241, grad[2], 5);
    }

    /// <summary>Questions from 4 clusters; cluster k is solved exactly by configurations 2k and 2k+1 of 8.</summary>
    static Profile Planted(int seed, int questions = 480)
    {
        var random = new Random(seed);
        var centers = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 16).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var list = new List<ProfiledQuestion>();
        for (int i = 0; i < questions; i++)
        {
            int k = i % 4;
            var v = centers[k].Select(c => (float)(c + 0.3 * (random.NextDouble() * 2 - 1))).ToArray();
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            list.Add(new ProfiledQuestion($"q{i}", k + 1, v.Select(x => x / norm).ToArray(), Enumerable.Range(0, 8).Select(c => c / 2 == k).ToArray()));
        }
        // A few questions no configuration solves and one every configuration solves: left out of training.
        list.Add(new ProfiledQuestion("none", 1, list[0].Embedding, new bool[8]));
        list.Add(new ProfiledQuestion("all", 1, list[1].Embedding, Enumerable.Repeat(true, 8).ToArray()));
        return new Profile("planted", "planted-encoder", Enumerable.Range(0, 8).Select(c => $"0:{c}").ToArray(), list, "sha");
    }

    [Fact]
    public void Training_recovers_a_planted_structure()
    {
        var (artifact, report) = SelectorTrainer.Train(Planted(1), new SelectorTrainingOptions { Epochs = 150, Seed = 3 }, TextWriter.Null);
        using var _ = artifact;
        Assert.Equal((1, 1), (report.SkippedAllSolved, report.SkippedNoneSolved));
        var at1 = report.HitRates.Single(h => h.K == 1);
        var at2 = report.HitRates.Single(h => h.K == 2);
        Assert.True(at1.Selector >= 0.95, $"top-1 hit rate {at1.Selector}");
        Assert.InRange(at1.Random, 0.24, 0.26);          // 2 of 8 positives
        Assert.InRange(at2.Random, 0.45, 0.47);          // 1 - 6/8 * 5/7
        Assert.True(at2.GlobalTop <= 0.6, $"global top-2 {at2.GlobalTop}");
    }

    [Fact]
    public void The_artifact_round_trips_and_refuses_a_vector_of_the_wrong_dimension()
    {
        var profile = Planted(2);
        var (artifact, _) = SelectorTrainer.Train(profile, new SelectorTrainingOptions { Epochs = 40, Seed = 1 }, TextWriter.Null);
        var path = Path.Combine(Directory.CreateTempSubdirectory("sprint-selector").FullName, "selector.safetensors");
        artifact.Save(path);
        using var loaded = SelectorArtifact.Load(path);
        Assert.Equal("planted-encoder", loaded.Metadata.EncoderId);
        Assert.Equal(8, loaded.Metadata.Configs.Count);
        Assert.Equal(8, loaded.Metadata.GlobalRanking.Count);
        foreach (var q in profile.Questions.Take(20))
            Assert.Equal(artifact.TopK(q.Embedding, 3), loaded.TopK(q.Embedding, 3));
        Assert.Contains("takes 16", Assert.Throws<ArgumentException>(() => loaded.TopK(new float[5], 1)).Message);
        artifact.Dispose();
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }
}

/// <summary>
/// The trainers seed libtorch's one global generator (torch.manual_seed) and draw their networks' initial weights from
/// it, so two trainings in parallel test classes interleave their draws and a seeded result changes (seen once:
/// OutcomeVerifierTests' same-seed check under the full suite's load). Tests that train run one at a time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchGlobalSeed
{
    public const string Name = "libtorch's global seed";
}
