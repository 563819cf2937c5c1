using System.Text.RegularExpressions;
using Sprint.Problems;

namespace Sprint.Problems.Tests;

public sealed class SyntheticProblemTests
{
    static readonly IReadOnlyList<Problem> Problems = SyntheticProblems.Generate(seed: 7, count: 2000);

    [Fact]
    public void The_same_seed_gives_the_same_problems_and_another_seed_others()
    {
        Assert.Equal(Problems.Take(100), SyntheticProblems.Generate(7, 100));
        Assert.NotEqual(Problems.Take(100).Select(p => p.Question), SyntheticProblems.Generate(8, 100).Select(p => p.Question));
    }

    [Fact]
    public void Every_solution_is_correct_arithmetic_ending_in_the_boxed_answer()
    {
        foreach (var p in Problems)
        {
            var lines = p.Solution!.Split('\n');
            Assert.Equal(p.Level, lines.Length - 1);
            Assert.Equal($"\\boxed{{{p.Answer}}}", lines[^1]);
            long? previous = null;
            foreach (var line in lines[..^1])
            {
                var m = Regex.Match(line, @"^(\d+) ([-+*/]) (\d+) = (\d+)$");
                Assert.True(m.Success, line);
                long a = long.Parse(m.Groups[1].Value), b = long.Parse(m.Groups[3].Value), c = long.Parse(m.Groups[4].Value);
                if (previous is not null) Assert.Equal(previous, a);
                long expected = m.Groups[2].Value switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => b != 0 && a % b == 0 ? a / b : -1 };
                Assert.Equal(expected, c);
                if (m.Groups[2].Value == "-") Assert.True(a >= b, $"{line}: a step never goes below zero");
                if (m.Groups[2].Value == "/") Assert.True(b > 1, $"{line}: a division divides");
                previous = c;
            }
            Assert.Equal(previous.ToString(), p.Answer);
            Assert.InRange(p.Level!.Value, 1, SyntheticProblems.Levels);
        }
    }

    [Fact]
    public void Levels_are_balanced_and_questions_distinct()
    {
        Assert.All(Problems.GroupBy(p => p.Level), g => Assert.Equal(400, g.Count()));
        Assert.Equal(Problems.Count, Problems.Select(p => p.Question).Distinct().Count());
    }

    [Fact]
    public void Splits_are_disjoint_deterministic_and_cover_every_level()
    {
        var (train, dev, test) = SyntheticProblems.Split(Problems);
        Assert.Equal((1600, 200, 200), (train.Count, dev.Count, test.Count));
        Assert.Empty(train.Select(p => p.Question).Intersect(test.Select(p => p.Question)));
        Assert.Empty(dev.Select(p => p.Id).Intersect(test.Select(p => p.Id)));
        Assert.All(new[] { dev, test }, split => Assert.Equal(5, split.Select(p => p.Level).Distinct().Count()));
    }

    [Fact]
    public void Written_files_load_back_unchanged()
    {
        var path = Path.GetTempFileName();
        try
        {
            ProblemFiles.Write(path, Problems.Take(50));
            Assert.Equal(Problems.Take(50), ProblemFiles.Load(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_line_of_unknown_shape_is_refused_with_its_position()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["{\"question\": \"q\", \"answer\": \"#### 3\"}", "{\"text\": 1}"]);
            Assert.Contains(":2:", Assert.Throws<FormatException>(() => ProblemFiles.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }
}
