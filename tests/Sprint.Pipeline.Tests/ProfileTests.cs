using Sprint.Training;
using Sprint.Evaluation;
using Sprint.Inference;
using Sprint.Inference.Encoders;
using Sprint.Problems;
using Sprint.Selector;

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
            Directory.CreateDirectory(data);
            var (train, dev, test) = SyntheticProblems.Split(SyntheticProblems.Generate(9, 200));
            ProblemFiles.Write(Path.Combine(data, "train.jsonl"), train);
            ProblemFiles.Write(Path.Combine(data, "dev.jsonl"), dev);
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

    [Fact]
    public async Task Profiling_writes_every_configuration_per_question_and_resumes()
    {
        var path = Path.Combine(tiny.Root, "profile.jsonl");
        var configs = HeadConfig.All(tiny.Model, (1, 1));
        Assert.Equal(["none", "1:0", "1:1", "1:2", "1:3"], configs.Select(c => c.Name));
        var settings = new EvalSettings { BatchSize = 8, MaxNewTokens = 8 };
        var log = new StringWriter();
        await new HeadProfiler(tiny.Model, configs, settings, log).RunAsync(tiny.Questions.Take(3).ToList(), path, resume: false, CancellationToken.None);
        Assert.Contains("candidates/s", log.ToString());
        await new HeadProfiler(tiny.Model, configs, settings, TextWriter.Null).RunAsync(tiny.Questions.Take(4).ToList(), path, resume: true, CancellationToken.None);

        var profile = Profile.Load(path);
        Assert.Equal(tiny.Questions.Take(4).Select(q => q.Id), profile.Questions.Select(q => q.Id));
        Assert.All(profile.Questions, q => Assert.Equal(5, q.Correct.Length));
        Assert.Equal(configs.Select(c => c.Name), profile.Configs);

        var other = HeadConfig.All(tiny.Model, (0, 0));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new HeadProfiler(tiny.Model, other, settings, TextWriter.Null).RunAsync(tiny.Questions, path, resume: true, CancellationToken.None));
    }
}
