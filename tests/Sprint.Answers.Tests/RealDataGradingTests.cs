using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sprint.Answers;
using Sprint.Problems;

namespace Sprint.Answers.Tests;

/// <summary>Extraction and grading on every line of the real MATH500 and GSM8K files.</summary>
public sealed class RealDataGradingTests
{
    internal static readonly string Fixtures = FindFixtures();

    static string FindFixtures()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "tests", "fixtures"))) return Path.Combine(d.FullName, "tests", "fixtures");
        throw new DirectoryNotFoundException("tests/fixtures");
    }

    /// <summary>All 500 lines, no exceptions.</summary>
    [Fact]
    public void Every_math500_solution_grades_equal_to_its_answer()
    {
        var lines = File.ReadLines(Path.Combine(Fixtures, "math500", "test.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(500, lines.Count);
        var failures = new List<string>();
        foreach (var line in lines)
        {
            var id = line["unique_id"]!.GetValue<string>();
            var extracted = AnswerExtractor.Extract(line["solution"]!.GetValue<string>());
            bool ok = AnswerGrader.IsEquivalent(extracted, line["answer"]!.GetValue<string>());
            if (!ok)
                failures.Add($"{id}: extracted [{extracted}] answer [{line["answer"]}] normalised [{AnswerNormalizer.Normalize(extracted ?? "")}] vs [{AnswerNormalizer.Normalize(line["answer"]!.GetValue<string>())}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} lines:\n" + string.Join("\n", failures));
    }

    [Theory]
    [InlineData("test.jsonl", 1319)]
    [InlineData("train.jsonl", 7473)]
    public void Every_gsm8k_answer_extracts_to_the_number_after_the_hashes(string file, int expectedLines)
    {
        var lines = File.ReadLines(Path.Combine(Fixtures, "gsm8k", file)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(expectedLines, lines.Count);
        var failures = new List<string>();
        foreach (var (line, i) in lines.Select((l, i) => (l, i)))
        {
            var answer = line["answer"]!.GetValue<string>();
            var number = Regex.Match(answer, @"####\s*(.+)$").Groups[1].Value.Trim();
            var extracted = AnswerExtractor.Extract(answer);
            if (!AnswerGrader.IsEquivalent(extracted, number) || !AnswerNormalizer.TryNumber(AnswerNormalizer.Normalize(extracted!), out _))
                failures.Add($"line {i + 1}: extracted [{extracted}] expected [{number}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} lines:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Loaders_read_the_real_files_into_problems()
    {
        var gsm = ProblemFiles.Load(Path.Combine(Fixtures, "gsm8k", "test.jsonl"));
        Assert.Equal(1319, gsm.Count);
        Assert.All(gsm, p => Assert.Equal("gsm8k", p.Source));
        Assert.Equal("18", gsm[0].Answer);
        var math = ProblemFiles.Load(Path.Combine(Fixtures, "math500", "test.jsonl"));
        Assert.Equal(500, math.Count);
        Assert.All(math, p => Assert.InRange(p.Level!.Value, 1, 5));
        Assert.Equal("test/precalculus/807.json", math[0].Id);
        Assert.Equal(@"\left( 3, \frac{\pi}{2} \right)", math[0].Answer);
    }
}
