using Sprint.Core;
using Sprint.Inference;
using Sprint.Pipeline.Evaluation;
using Sprint.Pipeline.Verification;
using Sprint.Problems;
using Sprint.Verification;

namespace Sprint.Pipeline.Tests;

/// <summary>Calibration metrics on hand-computed cases.</summary>
public sealed class CalibrationTests
{
    [Fact]
    public void Auc_is_the_chance_a_right_one_outscores_a_wrong_one_ties_half()
    {
        Assert.Equal(1.0, Calibration.Auc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]));
        Assert.Equal(0.0, Calibration.Auc([0.1, 0.2, 0.9, 0.8], [true, true, false, false]));
        Assert.Equal(0.5, Calibration.Auc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]));
        // pairs (right, wrong): (0.9 > 0.3), (0.9 > 0.6), (0.4 > 0.3), (0.4 < 0.6) = 3 of 4
        Assert.Equal(0.75, Calibration.Auc([0.9, 0.4, 0.3, 0.6], [true, true, false, false]));
        Assert.True(double.IsNaN(Calibration.Auc([0.9, 0.4], [true, true])));
    }

    [Fact]
    public void Ece_weights_each_bins_gap_by_its_count()
    {
        // bin [0.1, 0.2): two at 0.15, one right (gap 0.35); bin [0.9, 1]: two at 0.95, both right (gap 0.05)
        Assert.Equal((2 * 0.35 + 2 * 0.05) / 4, Calibration.Ece([0.15, 0.15, 0.95, 0.95], [true, false, true, true]), 9);
        // Bins of unequal counts: one at 0.15, right (gap 0.85); three at 0.95, two right (gap 0.95 - 2/3). Weighted by
        // count, not the plain mean of the two gaps.
        Assert.Equal((0.85 + 3 * (0.95 - 2.0 / 3)) / 4, Calibration.Ece([0.15, 0.95, 0.95, 0.95], [true, true, true, false]), 9);
        var table = Calibration.Reliability([0.15, 0.15, 0.95, 1.0], [true, false, true, true]);
        Assert.Equal([(2, 0.5), (2, 1.0)], table.Select(b => (b.Count, b.ShareRight)));
    }
}

/// <summary>Training the outcome verifier on a small labelled log, and the artifact's refusals.</summary>
[Collection(TorchGlobalSeed.Name)]
public sealed class OutcomeVerifierTests : IDisposable
{
    static readonly string Model = Path.Combine(FindRoot(), "models", "sprint-tiny-math");
    readonly string dir = Directory.CreateTempSubdirectory("sprint-verifier-").FullName;

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "models", "sprint-tiny-math"))) return d.FullName;
        throw new DirectoryNotFoundException("models/sprint-tiny-math not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Per question: its reference solution (right) and the same with the final answer off by one (wrong).</summary>
    (IReadOnlyList<Problem> Problems, string Log) LabelledLog(int count)
    {
        var problems = SyntheticProblems.Generate(5, count);
        var log = Path.Combine(dir, "candidates.jsonl");
        using (var writer = new CandidateLog(log, append: false))
            writer.Write(problems.Select(p =>
            {
                var wrong = p.Solution!.Replace($"\\boxed{{{p.Answer}}}", $"\\boxed{{{long.Parse(p.Answer) + 1}}}");
                return new QuestionResult(p, Strategy.Sampling, [CandidateDecoder.Grade(p, "none", p.Solution, -0.1, 10), CandidateDecoder.Grade(p, "none", wrong, -0.5, 10)]);
            }).ToList());
        return (problems, log);
    }

    [Fact(Timeout = 120_000)]
    public async Task Training_separates_right_from_wrong_is_seeded_and_resumes_its_features()
    {
        await Task.Yield();
        using var lm = LanguageModel.Load(Model);
        var (problems, log) = LabelledLog(120);
        var features = new SolutionFeatures(lm);
        var options = new VerifierTrainingOptions { Epochs = 30, DevFraction = 0.25, Seed = 3 };
        var first = new StringWriter();
        var (a, report) = VerifierTrainer.Train(features, log, problems, log + ".features", options, first);
        Assert.Contains("features: 120/120 questions", first.ToString());
        Assert.Equal(90, report.TrainQuestions);
        Assert.Equal(60, report.DevCandidates);
        Assert.True(report.DevAuc > 0.75, $"dev AUC {report.DevAuc}");   // chance is 0.5; 0.85 here with this seed
        var second = new StringWriter();
        var (b, _) = VerifierTrainer.Train(features, log, problems, log + ".features", options, second);
        Assert.Contains("240 candidates' features read from", second.ToString());
        Assert.DoesNotContain("features: ", second.ToString());
        var texts = problems.Take(4).Select(p => p.Solution!).ToList();
        var rows = features.Read(problems[0].Question, texts);
        Assert.Equal(a.Probabilities(rows), b.Probabilities(rows));   // same seed, same verifier

        var path = Path.Combine(dir, "out", VerifierArtifact.WeightsFile);
        a.Save(path);
        using var loaded = OutcomeVerifier.Load(lm, path);
        Assert.Equal(a.Probabilities(rows), loaded.Score(problems[0].Question, texts));
        Assert.All(loaded.Score(problems[0].Question, texts), p => Assert.InRange(p, 0f, 1f));
        Assert.Equal("outcome-verifier:sprint-tiny-math", loaded.Name);
        a.Dispose();
        b.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_missing_truncated_or_foreign_verifier_is_refused_naming_the_problem()
    {
        await Task.Yield();
        using var lm = LanguageModel.Load(Model);
        var missing = Path.Combine(dir, "none", VerifierArtifact.WeightsFile);
        Assert.Contains("not found", Assert.Throws<LoadException>(() => OutcomeVerifier.Load(lm, missing)).Message);

        var features = new SolutionFeatures(lm);
        var metadata = new VerifierMetadata
        {
            ModelId = "sprint-tiny-math", FeaturesId = features.FeaturesId, InputDim = features.Dimension, HiddenDim = 8,
            TrainingDataSha256 = "", TrainCandidates = 0, DevCandidates = 0, Seed = 1, DevAuc = 0, DevEce = 0,
        };
        var good = Path.Combine(dir, "good", VerifierArtifact.WeightsFile);
        using (var artifact = new VerifierArtifact(new VerifierNetwork(features.Dimension, 8), metadata)) artifact.Save(good);
        using (OutcomeVerifier.Load(lm, good)) { }

        var truncated = Path.Combine(dir, "truncated", VerifierArtifact.WeightsFile);
        Directory.CreateDirectory(Path.GetDirectoryName(truncated)!);
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        File.Copy(Path.ChangeExtension(good, ".json"), Path.ChangeExtension(truncated, ".json"));
        Assert.Contains("cannot be loaded", Assert.Throws<LoadException>(() => OutcomeVerifier.Load(lm, truncated)).Message);

        var foreign = Path.Combine(dir, "foreign", VerifierArtifact.WeightsFile);
        using (var artifact = new VerifierArtifact(new VerifierNetwork(features.Dimension, 8),
            metadata with { ModelId = "qwen2.5-math-1.5b", FeaturesId = "qwen2.5-math-1.5b:" + SolutionFeatures.Recipe })) artifact.Save(foreign);
        Assert.Equal("the verifier was trained for model 'qwen2.5-math-1.5b', not 'sprint-tiny-math'",
            Assert.Throws<FailedPreconditionException>(() => OutcomeVerifier.Load(lm, foreign)).Message);

        var recipe = Path.Combine(dir, "recipe", VerifierArtifact.WeightsFile);
        using (var artifact = new VerifierArtifact(new VerifierNetwork(features.Dimension, 8), metadata with { FeaturesId = "sprint-tiny-math:other:v0" })) artifact.Save(recipe);
        Assert.Contains("trained on features 'sprint-tiny-math:other:v0'", Assert.Throws<FailedPreconditionException>(() => OutcomeVerifier.Load(lm, recipe)).Message);

        File.WriteAllText(Path.ChangeExtension(recipe, ".json"), "{ not json");
        Assert.Contains("is not valid", Assert.Throws<LoadException>(() => OutcomeVerifier.Load(lm, recipe)).Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Features_read_the_question_keep_a_long_solutions_end_and_refuse_a_question_without_room()
    {
        await Task.Yield();
        using var lm = LanguageModel.Load(Model);
        var features = new SolutionFeatures(lm);
        var text = "12 + 6 = 18\n\\boxed{18}";
        var a = features.Read("Paul has 12 apples. Then Finn gives Paul 6 apples. How many apples does Paul have now?", [text])[0];
        var b = features.Read("Paul has 12 apples. Then Finn takes 6 of Paul's apples. How many apples does Paul have now?", [text])[0];
        Assert.Equal(features.Dimension, a.Length);
        Assert.NotEqual(a, b);   // the same text reads differently under another question
        var longText = string.Concat(Enumerable.Repeat("1 + 1 = 2\n", 400)) + "\\boxed{2}";
        Assert.Equal(features.Dimension, features.Read("What is 1 + 1?", [longText])[0].Length);
        Assert.Equal("question", Assert.Throws<InvalidFieldException>(() => features.Read(string.Concat(Enumerable.Repeat("apple ", 600)), [text])).Field);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
