namespace Sprint.Answers;

/// <summary>How a question's candidates become one answer: the one implementation the gateway's Solve and sprint eval share.</summary>
public enum Aggregation
{
    /// <summary>The most frequent normalised answer (the paper's rule).</summary>
    Majority,
    /// <summary>The majority among candidates whose written steps hold (<see cref="StepChecker"/>); everyone votes when none does.</summary>
    VerifiedMajority,
}

/// <summary>One candidate as the vote sees it.</summary>
/// <param name="Answer">The extracted answer; null when none.</param>
/// <param name="Score">Breaks ties: the mean token log-probability.</param>
/// <param name="Check">Its step check; null when it was not checked (it then votes under every rule).</param>
public sealed record Ballot<T>(T Item, string? Answer, double Score, StepCheck? Check)
{
    public bool Holds => Check?.Holds ?? true;
    /// <summary>At least one written step was checked and none failed.</summary>
    public bool Verified => Check is { CheckedSteps: > 0, FailedSteps: 0 };
}

/// <summary>What a vote decided: the answer groups best first (from the voters), and the candidates left out of it.</summary>
public sealed record VoteOutcome<T>(IReadOnlyList<AnswerGroup<Ballot<T>>> Ranked, IReadOnlyList<Ballot<T>> Excluded, bool EveryoneFailed)
{
    public AnswerGroup<Ballot<T>>? Winner => Ranked.Count > 0 ? Ranked[0] : null;
}

public static class Vote
{
    /// <summary>The names used on command lines, in reports and in the verdict: majority, verified.</summary>
    public static string Name(this Aggregation a) => a switch
    {
        Aggregation.Majority => "majority",
        Aggregation.VerifiedMajority => "verified",
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, null),
    };

    public static Aggregation Parse(string name, string field = "aggregation") => name.Trim().ToLowerInvariant() switch
    {
        "majority" => Aggregation.Majority,
        "verified" or "verified_majority" => Aggregation.VerifiedMajority,
        _ => throw new ArgumentException($"{field}: unknown '{name}'; expected majority or verified"),
    };

    /// <summary>
    /// The vote. Candidates without an answer never vote. <see cref="Aggregation.VerifiedMajority"/> leaves out the
    /// candidates with a failed step, unless every candidate with an answer has one (then all of them vote, and
    /// <see cref="VoteOutcome{T}.EveryoneFailed"/> says so). Ties as <see cref="AnswerTally"/>: the answer whose best
    /// candidate has the highest score, then the ordinally smaller answer.
    /// </summary>
    public static VoteOutcome<T> Cast<T>(IEnumerable<Ballot<T>> ballots, Aggregation rule)
    {
        var answered = ballots.Where(b => b.Answer is not null).ToList();
        var voters = answered;
        var excluded = new List<Ballot<T>>();
        bool everyoneFailed = false;
        if (rule == Aggregation.VerifiedMajority)
        {
            var holding = answered.Where(b => b.Holds).ToList();
            if (holding.Count > 0)
            {
                excluded = answered.Where(b => !b.Holds).ToList();
                voters = holding;
            }
            else everyoneFailed = answered.Count > 0;
        }
        return new VoteOutcome<T>(AnswerTally.Rank(voters, b => b.Answer, b => b.Score), excluded, everyoneFailed);
    }
}

/// <summary>
/// Adaptive candidates: decode the plan in waves — <see cref="Initial"/> first, then <see cref="Wave"/> more at a time —
/// and stop once the answer is decided: <see cref="Agree"/> verified candidates (a checked step, none failed) give one
/// answer and no verified candidate gives another. Decided only between waves, on finished candidates, so a seed
/// reproduces an adaptive Solve exactly (a plan for n is a prefix of any larger plan).
/// </summary>
public sealed record AdaptivePolicy(int Initial, int Wave, int Agree)
{
    /// <summary>
    /// The defaults, chosen from the evaluation (EVAL.md, 3,000 test questions, N = 8): two candidates, then the other
    /// six at once unless one verified answer stands alone — the verified vote's accuracy (55.0 % against 54.9 % for
    /// SPRINT) with 79 % of its generated tokens, and never more than two waves.
    /// </summary>
    public static AdaptivePolicy Default { get; } = new(2, 6, 1);

    /// <summary>Parses "INITIAL:WAVE:AGREE", e.g. "2:6:1".</summary>
    public static AdaptivePolicy Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 3 || !int.TryParse(parts[0], out var i) || !int.TryParse(parts[1], out var w) || !int.TryParse(parts[2], out var a))
            throw new ArgumentException($"adaptive: expected INITIAL:WAVE:AGREE, e.g. 2:6:1, got '{text}'");
        return new AdaptivePolicy(i, w, a).Validate();
    }

    public AdaptivePolicy Validate()
    {
        if (Initial < 1) throw new ArgumentException($"adaptive: the first wave must be at least 1, got {Initial}");
        if (Wave < 1) throw new ArgumentException($"adaptive: a wave must be at least 1, got {Wave}");
        if (Agree < 1) throw new ArgumentException($"adaptive: agree must be at least 1, got {Agree}");
        return this;
    }

    public override string ToString() => $"{Initial}:{Wave}:{Agree}";

    /// <summary>How many candidates the next wave brings the total to, after <paramref name="started"/> of <paramref name="n"/>.</summary>
    public int NextCount(int started, int n) => Math.Min(n, started == 0 ? Initial : started + Wave);

    /// <summary>Whether finished candidates decide the answer (then no further wave starts).</summary>
    public bool Decided<T>(IEnumerable<Ballot<T>> finished)
    {
        var verified = finished.Where(b => b.Verified && b.Answer is not null)
            .GroupBy(b => AnswerNormalizer.Normalize(b.Answer!)).ToList();
        return verified.Count == 1 && verified[0].Count() >= Agree;
    }

    /// <summary>
    /// The candidates an adaptive run of <paramref name="n"/> would start, given every candidate of the full plan
    /// finished (in plan order): the evaluator's replay of what the gateway does.
    /// </summary>
    public int Started<T>(IReadOnlyList<Ballot<T>> plan, int n)
    {
        int started = NextCount(0, n);
        while (started < n && !Decided(plan.Take(started))) started = NextCount(started, n);
        return started;
    }
}
