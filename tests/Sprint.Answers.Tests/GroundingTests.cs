using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Sprint.Answers.Tests;

/// <summary>The grounding check's rule, and its false-alarm rate on real reference solutions nobody here wrote.</summary>
public sealed class GroundingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Mia has 21 apples and gives 8 away.", "21 - 8 = 13\n13 * 4 = 52", 2, 0)]     // 13: an earlier result; 4: a constant
    [InlineData("Mia has 21 apples and gives 18 away.", "21 - 17 = 4", 1, 1)]                  // 17 from nowhere
    [InlineData("Mia has 21 apples and gives 8 away.", "21 - 8 = 13", 1, 0)]
    [InlineData("Mia has 21 apples and gives 8 away.", "21 + 37 = 58", 1, 1)]                  // 37 from nowhere
    [InlineData("A dozen eggs cost $3.", "12 * 3 = 36", 1, 0)]
    [InlineData("Tom earns fifteen dollars an hour for 40 hours.", "15 * 40 = 600\n600 * 52 = 31200", 2, 0)]
    public void A_step_is_grounded_when_its_numbers_come_from_the_question_earlier_results_or_constants(string question, string solution, int steps, int ungrounded)
    {
        var g = StepChecker.Ground(question, solution);
        output.WriteLine($"{g.Steps} steps, {g.Ungrounded} ungrounded: {g.FirstUngrounded}");
        Assert.Equal((steps, ungrounded), (g.Steps, g.Ungrounded));
    }

    [Fact]
    public void False_alarm_rates_on_reference_solutions()
    {
        var gsm = new[] { "train.jsonl", "test.jsonl" }.SelectMany(f => File.ReadLines(Path.Combine(RealDataGradingTests.Fixtures, "gsm8k", f)))
            .Select(l => JsonNode.Parse(l)!).Select(j => (Q: j["question"]!.GetValue<string>(), S: j["answer"]!.GetValue<string>())).ToList();
        var math = File.ReadLines(Path.Combine(RealDataGradingTests.Fixtures, "math500", "test.jsonl"))
            .Select(l => JsonNode.Parse(l)!).Select(j => (Q: j["problem"]!.GetValue<string>(), S: j["solution"]!.GetValue<string>())).ToList();
        foreach (var (name, set) in new[] { ("GSM8K", gsm), ("MATH500", math) })
        {
            var checks = set.Select(x => (x, G: StepChecker.Ground(x.Q, x.S))).ToList();
            int alarms = checks.Count(c => c.G.Ungrounded > 0);
            output.WriteLine($"{name}: {alarms} of {set.Count} reference solutions ({100.0 * alarms / set.Count:F2} %) have an ungrounded step; {checks.Count(c => c.G.Steps > 0)} have a checked step");
            foreach (var c in checks.Where(c => c.G.Ungrounded > 0).Take(8)) output.WriteLine($"  {c.G.FirstUngrounded}");
        }
    }
}
