using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Pipeline.Profiling;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using Sprint.Problems;
using Sprint.Pipeline.Selection;
using Sprint.Training;
using TorchSharp;

using Sprint.Tests.Shared;

namespace Sprint.Pipeline.Tests;

/// <summary>The question encoder and the profiler, on a tiny model trained for a few steps.</summary>
public sealed class ProfileTests : IClassFixture<ProfileTests.TinyModel>
{
    readonly TinyModel tiny;

    public ProfileTests(TinyModel tiny) => this.tiny = tiny;

    public sealed class TinyModel : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("sprint-profile").FullName;
        public LanguageModel Model { get; }
        public IReadOnlyList<Problem> Questions { get; }

        public TinyModel()
        {
            var data = Path.Combine(Root, "data");
            var test = TinyData.WriteSplits(data, seed: 9, count: 200);
            var output = Path.Combine(Root, "model");
            new LmTrainer(new LmTrainingOptions
            {
                DataDir = data, OutDir = output, Layers = 2, Heads = 4, KvHeads = 2, Hidden = 32, VocabSize = 300, MaxPositions = 256,
                Steps = 3, Batch = 4, WarmupSteps = 1, EvalEvery = 1000, CheckpointEvery = 1000,
            }, TextWriter.Null).RunAsync(CancellationToken.None).GetAwaiter().GetResult();
            Model = LanguageModel.Load(output);
            Questions = test;
        }

        public void Dispose()
        {
            Model.Dispose();
            Directory.Delete(Root, recursive: true);
        }
    }

    [Fact]
    public void Question_embeddings_are_unit_vectors_independent_of_batching()
    {
        var encoder = new QuestionEncoder(tiny.Model);
        var questions = tiny.Questions.Take(5).Select(q => q.Question).ToList();
        var together = encoder.Encode(questions);
        Assert.Equal(32, together[0].Length);
        Assert.All(together, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 4));
        for (int i = 0; i < questions.Count; i++)
        {
            var alone = encoder.Encode([questions[i]])[0];
            Assert.True(alone.Zip(together[i]).All(p => Math.Abs(p.First - p.Second) < 1e-5), $"question {i} depends on its batch");
        }
        Assert.Contains("mean-final-hidden", encoder.EncoderId);
    }

    [Fact(Timeout = 120_000)]
    public async Task Profiling_writes_every_configuration_per_question_and_resumes()
    {
        var path = Path.Combine(tiny.Root, "profile.jsonl");
        var configs = HeadConfig.All(tiny.Model.Config.Shape, (1, 1));
        Assert.Equal(["none", "1:0", "1:1", "1:2", "1:3"], configs.Select(c => c.Name));
        var settings = new EvalSettings { BatchSize = 8, MaxNewTokens = 8 };
        var log = new StringWriter();
        await new HeadProfiler(tiny.Model, configs, settings, log).RunAsync(tiny.Questions.Take(3).ToList(), path, resume: false, CancellationToken.None);
        Assert.Contains("candidates/s", log.ToString());
        // An interruption in the middle of writing leaves half a line: resume drops it and profiles that question again.
        var lines = File.ReadAllLines(path);
        File.WriteAllLines(path, [.. lines[..^1], lines[^1][..(lines[^1].Length / 2)]]);
        await new HeadProfiler(tiny.Model, configs, settings, TextWriter.Null).RunAsync(tiny.Questions.Take(4).ToList(), path, resume: true, CancellationToken.None);

        var profile = Profile.Load(path);
        Assert.Equal(tiny.Questions.Take(4).Select(q => q.Id), profile.Questions.Select(q => q.Id));
        Assert.All(profile.Questions, q => Assert.Equal(5, q.Correct.Length));
        Assert.Equal(configs.Select(c => c.Name), profile.Configs);

        var other = HeadConfig.All(tiny.Model.Config.Shape, (0, 0));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new HeadProfiler(tiny.Model, other, settings, TextWriter.Null).RunAsync(tiny.Questions, path, resume: true, CancellationToken.None));
    }
}

/// <summary>The best-of-N harness end to end on the tiny model, with a selector built for it.</summary>
public sealed class BestOfNTests(ProfileTests.TinyModel tiny) : IClassFixture<ProfileTests.TinyModel>
{
    [Fact(Timeout = 120_000)]
    public async Task Every_strategy_produces_its_candidates_and_a_report()
    {
        var encoder = new QuestionEncoder(tiny.Model);
        var configs = HeadConfig.All(tiny.Model.Config.Shape).Select(c => c.Name).ToList();
        using var selector = new SelectorArtifact(new SelectorNetwork(encoder.Dimension, 16, 8, configs.Count, 0.1), new SelectorMetadata
        {
            ModelId = tiny.Model.Id, EncoderId = encoder.EncoderId, Configs = configs, InputDim = encoder.Dimension, HiddenDim = 16, Dim = 8,
            Tau = 0.1, TrainingDataSha256 = "test", GlobalRanking = [.. configs.AsEnumerable().Reverse()],
        });
        var settings = new BestOfNSettings
        {
            Strategies = [Strategy.Sprint, Strategy.Sampling, Strategy.RandomHeads, Strategy.GlobalTop, Strategy.Greedy],
            MaxN = 4, Seed = 2, Decoding = new EvalSettings { BatchSize = 16, MaxNewTokens = 6 },
        };
        var questions = tiny.Questions.Take(3).ToList();
        var results = await new BestOfNEvaluator(tiny.Model, selector, settings, TextWriter.Null).RunAsync(questions, CancellationToken.None);
        Assert.Equal(15, results.Count);
        Assert.All(results.Where(r => r.Strategy != Strategy.Greedy), r => Assert.Equal(4, r.Candidates.Count));
        Assert.All(results.Where(r => r.Strategy == Strategy.GlobalTop), r => Assert.Equal(configs.AsEnumerable().Reverse().Take(4), r.Candidates.Select(c => c.Config)));
        Assert.All(results.Where(r => r.Strategy == Strategy.RandomHeads), r => Assert.Equal(4, r.Candidates.Select(c => c.Config).Distinct().Count(c => c != "none")));
        var sprint = results.Where(r => r.Strategy == Strategy.Sprint).ToList();
        var embeddings = encoder.Encode(questions.Select(q => q.Question).ToList());
        for (int i = 0; i < 3; i++)
            Assert.Equal(selector.TopK(embeddings[i], 4).Select(c => configs[c]), sprint[i].Candidates.Select(c => c.Config));

        // Seeded: the same run gives the same candidates (log-probabilities up to float noise from other batch neighbours).
        var again = await new BestOfNEvaluator(tiny.Model, selector, settings, TextWriter.Null).RunAsync(questions, CancellationToken.None);
        Assert.Equal(results.SelectMany(r => r.Candidates).Select(c => (c.Config, c.Answer, c.Correct)),
            again.SelectMany(r => r.Candidates).Select(c => (c.Config, c.Answer, c.Correct)));
        Assert.All(results.SelectMany(r => r.Candidates).Zip(again.SelectMany(r => r.Candidates)),
            p => Assert.Equal(p.First.MeanLogProb, p.Second.MeanLogProb, 4));

        var rows = BestOfNReport.Compute(results, [1, 2, 4], settings.Seed);
        Assert.Equal(15, rows.Count);
        Assert.Contains("| sprint | 4 |", BestOfNReport.Markdown(rows));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_selector_for_another_encoder_is_refused()
    {
        var configs = HeadConfig.All(tiny.Model.Config.Shape).Select(c => c.Name).ToList();
        using var selector = new SelectorArtifact(new SelectorNetwork(32, 16, 8, configs.Count, 0.1), new SelectorMetadata
        {
            ModelId = "other", EncoderId = "other:mean", Configs = configs, InputDim = 32, HiddenDim = 16, Dim = 8, Tau = 0.1,
            TrainingDataSha256 = "x", GlobalRanking = configs,
        });
        var settings = new BestOfNSettings { Strategies = [Strategy.Sprint], MaxN = 2 };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => new BestOfNEvaluator(tiny.Model, selector, settings, TextWriter.Null).RunAsync(tiny.Questions, CancellationToken.None));
        Assert.Contains("other:mean", error.Message);
    }
}

/// <summary>The question encoder pools exactly as documented: the mean of the final hidden states over every prompt token.</summary>
public sealed class QuestionEncoderTests(ProfileTests.TinyModel tiny) : IClassFixture<ProfileTests.TinyModel>
{
    [Fact]
    public void The_embedding_is_the_normalised_mean_of_the_final_hidden_states_whatever_the_batch()
    {
        var lm = tiny.Model;
        var question = tiny.Questions[0].Question;
        var longer = tiny.Questions.OrderByDescending(q => q.Question.Length).First().Question;
        var encoded = new QuestionEncoder(lm).Encode([question, longer])[0];   // left-padded beside a longer question

        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        var ids = lm.Tokenizer!.Encode(ChatPrompt.Format(question, null));
        var padded = PaddedPrompts.Left([ids], lm.Model.Device);
        var hidden = lm.Model.Forward(padded.Ids, padded.Positions, padded.Attend)[0];   // [T, hidden], one unpadded row
        float[] Unit(torch.Tensor v) => torch.nn.functional.normalize(v, p: 2, dim: 0).data<float>().ToArray();
        var mean = Unit(hidden.mean([0]));
        var last = Unit(hidden[-1]);

        Assert.Equal(lm.Config.HiddenSize, encoded.Length);
        Assert.All(encoded.Zip(mean), p => Assert.Equal(p.Second, p.First, 4));
        Assert.True(encoded.Zip(last).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "last-token pooling would give another vector");
    }
}
