using System.Text.Json.Nodes;
using Sprint.Problems;

namespace Sprint.Answers.Tests;

/// <summary>
/// The incremental step check (<see cref="StepReader"/>): fed in pieces, as a candidate decodes, it gives exactly the
/// whole-text check, and it names a failed step as soon as — and only when — the line holding it is complete.
/// </summary>
public sealed class StepReaderTests
{
    /// <summary>The text in pieces of 1..<paramref name="longest"/> characters, cut by a seeded draw.</summary>
    static IEnumerable<string> Pieces(string text, Random random, int longest)
    {
        for (int at = 0; at < text.Length;)
        {
            int take = Math.Min(text.Length - at, random.Next(1, longest + 1));
            yield return text.Substring(at, take);
            at += take;
        }
    }

    static StepCheck Incremental(IEnumerable<string> pieces)
    {
        var reader = new StepReader();
        foreach (var p in pieces) reader.Append(p);
        return reader.Finish();
    }

    static IEnumerable<string> Solutions()
    {
        foreach (var split in new[] { "train.jsonl", "test.jsonl" })
            foreach (var l in File.ReadLines(Path.Combine(RealDataGradingTests.Fixtures, "gsm8k", split)))
                yield return JsonNode.Parse(l)!["answer"]!.GetValue<string>();
        foreach (var l in File.ReadLines(Path.Combine(RealDataGradingTests.Fixtures, "math500", "test.jsonl")))
            yield return JsonNode.Parse(l)!["solution"]!.GetValue<string>();
        // The synthetic set's worked solutions, and each with its first result off by one (a candidate's slip).
        foreach (var p in SyntheticProblems.Generate(seed: 3, count: 2000))
        {
            yield return p.Solution!;
            var lines = p.Solution!.Split('\n');
            var eq = lines[0].LastIndexOf("= ", StringComparison.Ordinal);
            if (eq > 0 && long.TryParse(lines[0][(eq + 2)..], out var result))
                yield return string.Join('\n', [lines[0][..(eq + 2)] + (result + 1), .. lines[1..]]);
        }
    }

    [Fact]
    public void Every_reference_solution_gets_the_whole_text_check_however_it_is_cut()
    {
        var random = new Random(11);
        int texts = 0, failed = 0;
        foreach (var text in Solutions())
        {
            var whole = StepChecker.Check(text);
            Assert.Equal(whole, Incremental(Pieces(text, random, 12)));
            Assert.Equal(whole, Incremental(text.Select(c => c.ToString())));   // one character at a time, pairs split
            Assert.Equal(whole, Incremental([text]));
            Assert.Equal(whole, Incremental([text, ""]));
            texts++;
            if (!whole.Holds) failed++;
        }
        Assert.True(texts > 11000, $"{texts} texts");
        Assert.True(failed > 1500, $"only {failed} texts with a failed step: the comparison must cover failures");
    }

    [Fact]
    public void A_failed_step_is_named_when_its_line_completes_and_only_once()
    {
        var reader = new StepReader();
        Assert.Null(reader.Append("12 + 4 = 16\n12 * 3 = 3"));   // the second line may still go on ("= 36")
        Assert.Null(reader.Append("7"));
        Assert.Equal(1, reader.Current.CheckedSteps);
        var failure = reader.Append("\n40 - 1 = 38");
        Assert.NotNull(failure);
        Assert.Equal(new StepFailure(2, "12 * 3 = 37", "37", "36"), failure);
        Assert.Null(reader.Append("\n"));   // a later failed line is counted, the first failure is not named again
        var check = reader.Finish();
        Assert.Equal(new StepCheck(3, 2, failure), check);
        Assert.Equal(StepChecker.Check("12 + 4 = 16\n12 * 3 = 37\n40 - 1 = 38\n"), check);
    }

    [Fact]
    public void The_last_line_is_checked_at_the_end_without_a_newline()
    {
        var reader = new StepReader();
        Assert.Null(reader.Append("so 7 * 8 = 54"));
        var check = reader.Finish();
        Assert.Equal(1, check.FailedSteps);
        Assert.Equal("56", check.FirstFailure!.Computed);
        Assert.Throws<ObjectDisposedException>(() => reader.Append("more"));
    }

    [Fact]
    public void An_empty_text_checks_nothing()
    {
        Assert.Equal(StepCheck.None, new StepReader().Finish());
        var reader = new StepReader();
        reader.Append("");
        Assert.Equal(StepChecker.Check(""), reader.Finish());
    }
}
