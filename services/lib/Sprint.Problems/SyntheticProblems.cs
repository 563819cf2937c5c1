using System.Text;

namespace Sprint.Problems;

/// <summary>
/// Seeded GSM8K-style word problems: a quantity changed by 1–5 steps of + − × ÷ with exact, non-negative integer
/// results. Level n has n steps and larger numbers. Each problem has the worked solution the default model learns:
/// one <c>a op b = c</c> line per step, then <c>\boxed{answer}</c>.
/// </summary>
public static class SyntheticProblems
{
    public const int Levels = 5;
    const int MaxValue = 9999;

    static readonly string[] Names = ["Ava", "Ben", "Chloe", "Dan", "Emma", "Finn", "Grace", "Hugo", "Iris", "Jack", "Kira", "Leo",
        "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wendy", "Yusuf", "Zoe"];
    static readonly (string Plural, string Container)[] Objects = [("apples", "baskets"), ("marbles", "bags"), ("stickers", "sheets"),
        ("books", "boxes"), ("cookies", "jars"), ("pencils", "packs"), ("coins", "purses"), ("shells", "buckets"), ("cards", "decks"),
        ("eggs", "cartons"), ("stamps", "albums"), ("flowers", "vases")];

    sealed record Level(int Steps, int StartMin, int StartMax, int AddMax, int MulMax);

    static readonly Level[] LevelSpecs =
    [
        new(1, 2, 20, 9, 3),
        new(2, 5, 40, 20, 4),
        new(3, 10, 99, 40, 5),
        new(4, 20, 199, 99, 9),
        new(5, 50, 499, 199, 12),
    ];

    /// <summary><paramref name="count"/> distinct problems, levels cycling 1..5, reproducible from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<Problem> Generate(int seed, int count)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>();
        var problems = new List<Problem>(count);
        while (problems.Count < count)
        {
            int level = problems.Count % Levels + 1;
            var p = One(random, level, $"synth-{seed}-{problems.Count:D6}");
            if (seen.Add(p.Question)) problems.Add(p);
        }
        return problems;
    }

    /// <summary>Splits deterministically by position: every tenth problem to dev, the next tenth to test, the rest to train.</summary>
    public static (IReadOnlyList<Problem> Train, IReadOnlyList<Problem> Dev, IReadOnlyList<Problem> Test) Split(IReadOnlyList<Problem> problems)
    {
        var train = new List<Problem>();
        var dev = new List<Problem>();
        var test = new List<Problem>();
        for (int i = 0; i < problems.Count; i++)
            (((i / Levels) % 10) switch { 0 => dev, 1 => test, _ => train }).Add(problems[i]);
        return (train, dev, test);
    }

    static Problem One(Random random, int level, string id)
    {
        var spec = LevelSpecs[level - 1];
        var name = Names[random.Next(Names.Length)];
        string other;
        do other = Names[random.Next(Names.Length)]; while (other == name);
        var (things, container) = Objects[random.Next(Objects.Length)];
        int value = random.Next(spec.StartMin, spec.StartMax + 1);

        var question = new StringBuilder(Opening(random, name, value, things));
        var solution = new StringBuilder();
        for (int step = 0; step < spec.Steps; step++)
        {
            var (sentence, line, next) = Step(random, spec, value, name, other, things, container);
            question.Append(' ').Append(sentence);
            solution.Append(line).Append('\n');
            value = next;
        }
        question.Append($" How many {things} does {name} have now?");
        solution.Append($"\\boxed{{{value}}}");
        return new Problem(id, question.ToString(), value.ToString(), level, "synthetic", solution.ToString());
    }

    static string Opening(Random r, string name, int value, string things) => r.Next(3) switch
    {
        0 => $"{name} has {value} {things}.",
        1 => $"{name} starts with {value} {things}.",
        _ => $"There are {value} {things} in {name}'s room.",
    };

    static (string Sentence, string Line, int Next) Step(Random r, Level spec, int value, string name, string other, string things, string container)
    {
        while (true)
        {
            switch (r.Next(4))
            {
                case 0:
                {
                    int n = r.Next(1, spec.AddMax + 1);
                    if (value + n > MaxValue) continue;
                    var sentence = r.Next(3) switch
                    {
                        0 => $"{name} buys {n} more {things}.",
                        1 => $"Then {other} gives {name} {n} {things}.",
                        _ => $"{name} finds {n} more {things}.",
                    };
                    return (sentence, $"{value} + {n} = {value + n}", value + n);
                }
                case 1:
                {
                    if (value < 2) continue;
                    int n = r.Next(1, Math.Min(spec.AddMax, value - 1) + 1);
                    var sentence = r.Next(3) switch
                    {
                        0 => $"{name} gives {n} {things} to {other}.",
                        1 => $"Then {name} loses {n} {things}.",
                        _ => $"{name} sells {n} of the {things}.",
                    };
                    return (sentence, $"{value} - {n} = {value - n}", value - n);
                }
                case 2:
                {
                    int n = r.Next(2, spec.MulMax + 1);
                    if (value * n > MaxValue) continue;
                    var sentence = r.Next(2) switch
                    {
                        0 => $"Then {name} gets {n} times as many {things} as {name} had.",
                        _ => $"Each of the {things} is traded for {n} new ones.",
                    };
                    return (sentence, $"{value} * {n} = {value * n}", value * n);
                }
                default:
                {
                    var divisors = Enumerable.Range(2, Math.Min(spec.MulMax, value) - 1).Where(d => value % d == 0).ToArray();
                    if (divisors.Length == 0) continue;
                    int n = divisors[r.Next(divisors.Length)];
                    var sentence = r.Next(2) switch
                    {
                        0 => $"{name} shares the {things} equally among {n} {container} and keeps one of them.",
                        _ => $"{name} splits the {things} into {n} equal groups and keeps one group.",
                    };
                    return (sentence, $"{value} / {n} = {value / n}", value / n);
                }
            }
        }
    }
}
