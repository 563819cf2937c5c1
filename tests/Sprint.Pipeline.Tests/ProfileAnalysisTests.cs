using System.Text.Json;
using Sprint.Pipeline.Analysis;
using Sprint.Pipeline.Selection;
using Sprint.Selection;

namespace Sprint.Pipeline.Tests;

/// <summary>The figures of <c>sprint analyze profile</c> on a profile small enough to count by hand.</summary>
public sealed class ProfileAnalysisTests : IDisposable
{
    readonly string path = Path.GetTempFileName();

    /// <summary>Configurations none, 0:0, 0:1, 1:0, 1:1; each question's row says which of them answered right.</summary>
    Profile Write(params (int Level, bool[] Correct)[] questions)
    {
        string[] configs = ["none", "0:0", "0:1", "1:0", "1:1"];
        var lines = new List<string> { JsonSerializer.Serialize(new { type = "header", model = "m", encoder = "e", configs }) };
        lines.AddRange(questions.Select((q, i) => JsonSerializer.Serialize(new
        {
            id = $"q{i}", level = q.Level, embedding = new[] { 1f, 0f },
            candidates = configs.Select((c, j) => new { config = c, correct = q.Correct[j] }),
        })));
        File.WriteAllLines(path, lines);
        return Profile.Load(path);
    }

    [Fact]
    public void Figures_per_level_and_each_heads_change_are_counted_from_the_profile()
    {
        var analysis = ProfileAnalysis.From(Write(
            (1, [true, true, false, true, true]),
            (1, [true, false, false, true, true]),
            (2, [false, false, true, false, false]),
            (2, [false, false, false, false, false]),
            (2, [true, false, true, true, false]),
            (2, [false, false, true, false, false])));

        var level1 = analysis.Levels.Single(l => l.Level == 1);
        Assert.Equal((2, 1.0, 1.0, 0), (level1.Questions, level1.Greedy, level1.Oracle, level1.HeadsBetter));   // no head beats 100 %
        var level2 = analysis.Levels.Single(l => l.Level == 2);
        Assert.Equal(4, level2.Questions);
        Assert.Equal(0.25, level2.Greedy);
        Assert.Equal(0.75, level2.Oracle);                                   // all but the question nobody solved
        Assert.Equal(1, level2.HeadsBetter);                                 // 0:1 (75 %) beats 25 %; 1:0 ties it
        Assert.Equal(("0:1", 0.75), (level2.BestHead, level2.BestHeadAccuracy));
        var all = analysis.Levels.Single(l => l.Level is null);
        Assert.Equal((6, 0.5), (all.Questions, all.Greedy));

        Assert.Equal(new Core.ModelShape(2, 2), analysis.Shape);
        Assert.Equal(-50, analysis.Change[1][0, 0], 6);                      // 0:0 at level 1: 50 % against 100 %
        Assert.Equal(50, analysis.Change[2][0, 1], 6);                       // 0:1 at level 2: 75 % against 25 %
        Assert.Equal(0, analysis.Change[2][1, 0], 6);
        Assert.Contains("| 2 | 4 | 25.0 % | 75.0 % | 1 | 0:1: 75.0 % |", analysis.Markdown());
    }

    [Fact]
    public void A_profile_without_the_unpruned_configuration_is_refused()
    {
        File.WriteAllLines(path, [JsonSerializer.Serialize(new { type = "header", model = "m", encoder = "e", configs = new[] { "0:0" } })]);
        Assert.Throws<FormatException>(() => ProfileAnalysis.From(Profile.Load(path)));
    }

    public void Dispose() => File.Delete(path);
}
