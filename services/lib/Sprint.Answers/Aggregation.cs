namespace Sprint.Answers;

/// <summary>How a question's candidates become one answer: the one implementation the gateway's Solve and sprint eval share.</summary>
public enum Aggregation
{
    /// <summary>The most frequent normalised answer (the paper's rule).</summary>
    Majority,
    /// <summary>The majority among candidates whose written steps hold (<see cref="StepChecker"/>); everyone votes when none does.</summary>
    VerifiedMajority,
    /// <summary>
    /// The verified vote weighted by the learned outcome verifier: the same voters as <see cref="VerifiedMajority"/>,
    /// each weighing its confidence (the verifier's probability that its answer is right); the largest sum wins.
    /// </summary>
    VerifierWeighted,
}

/// <summary>One candidate as the vote sees it.</summary>
/// <param name="Answer">The extracted answer; null when none.</param>
/// <param name="Score">Breaks ties: the mean token log-probability.</param>
/// <param name="Check">Its step check; null when it was not checked (it then votes under every rule).</param>
/// <param name="Confidence">The learned verifier's probability that the answer is right, in [0, 1]; null when not scored.</param>
public sealed record Ballot<T>(T Item, string? Answer, double Score, StepCheck? Check, double? Confidence = null)
{
    public bool Holds => Check?.Holds ?? true;
    /// <summary>At least one written step was checked and none failed.</summary>
    public bool Verified => Check is { CheckedSteps: > 0, FailedSteps: 0 };
}

/// <summary>What a vote decided: the answer groups best first (from the voters), and the candidates left out of it.</summary>
/// <param name="Unweighted">A weighted vote counted votes instead, because some voter had no confidence (the verifier gave none).</param>
public sealed record VoteOutcome<T>(IReadOnlyList<AnswerGroup<Ballot<T>>> Ranked, IReadOnlyList<Ballot<T>> Excluded, bool EveryoneFailed, bool Unweighted = false)
{
    public AnswerGroup<Ballot<T>>? Winner => Ranked.Count > 0 ? Ranked[0] : null;
}

public static class Vote
{
    /// <summary>The names used on command lines, in reports and in the verdict: majority, verified, weighted.</summary>
    public static string Name(this Aggregation a) => a switch
    {
        Aggregation.Majority => "majority",
        Aggregation.VerifiedMajority => "verified",
        Aggregation.VerifierWeighted => "weighted",
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, null),
    };

    public static Aggregation Parse(string name, string field = "aggregation") => name.Trim().ToLowerInvariant() switch
    {
        "majority" => Aggregation.Majority,
        "verified" or "verified_majority" => Aggregation.VerifiedMajority,
        "weighted" or "verifier_weighted" => Aggregation.VerifierWeighted,
        _ => throw new ArgumentException($"{field}: unknown '{name}'; expected majority, verified or weighted"),
    };

    /// <summary>Whether the rule reads step checks (the Verifier is called).</summary>
    public static bool UsesChecks(this Aggregation a) => a != Aggregation.Majority;

    /// <summary>
    /// The vote. Candidates without an answer never vote. <see cref="Aggregation.VerifiedMajority"/> and
    /// <see cref="Aggregation.VerifierWeighted"/> leave out the candidates with a failed step, unless every candidate
    /// with an answer has one (then all of them vote, and <see cref="VoteOutcome{T}.EveryoneFailed"/> says so).
    /// Under <see cref="Aggregation.VerifierWeighted"/> an answer's weight is the sum of its voters' confidences, and
    /// answers are ranked by weight; when any voter has no confidence, votes are counted as under
    /// <see cref="Aggregation.VerifiedMajority"/> (<see cref="VoteOutcome{T}.Unweighted"/>). Ties as
    /// <see cref="AnswerTally"/>: the answer whose best candidate has the highest score, then the ordinally smaller answer.
    /// </summary>
    public static VoteOutcome<T> Cast<T>(IEnumerable<Ballot<T>> ballots, Aggregation rule)
    {
        var answered = ballots.Where(b => b.Answer is not null).ToList();
        var voters = answered;
        var excluded = new List<Ballot<T>>();
        bool everyoneFailed = false;
        if (rule.UsesChecks())
        {
            var holding = answered.Where(b => b.Holds).ToList();
            if (holding.Count > 0)
            {
                excluded = answered.Where(b => !b.Holds).ToList();
                voters = holding;
            }
            else everyoneFailed = answered.Count > 0;
        }
        bool weighted = rule == Aggregation.VerifierWeighted && voters.All(b => b.Confidence is not null);
        var ranked = weighted
            ? AnswerTally.Rank(voters, b => b.Answer, b => b.Score, b => b.Confidence!.Value)
            : AnswerTally.Rank(voters, b => b.Answer, b => b.Score);
        return new VoteOutcome<T>(ranked, excluded, everyoneFailed, Unweighted: rule == Aggregation.VerifierWeighted && !weighted);
    }
}

/// <summary>
/// Adaptive candidates: decode the plan in waves — <see cref="Initial"/> first, then <see cref="Wave"/> more at a time —
/// and stop once the answer is decided. By the step check (<see cref="Margin"/> null): <see cref="Agree"/> verified
/// candidates (a checked step, none failed) give one answer and no verified candidate gives another. By the learned
/// verifier (<see cref="Margin"/> set): among the finished candidates with an answer and no failed step, the leading
/// answer's summed confidence exceeds the runner-up's (0 when there is none) by at least <see cref="Margin"/>; when
/// some finished candidate has no confidence, the step-check rule decides. Decided only between waves, on finished
/// candidates, so a seed reproduces an adaptive Solve exactly (a plan for n is a prefix of any larger plan) — under a
/// margin, up to the last bits of the scores, which a batch shared with other callers' candidates may change.
/// </summary>
public sealed record AdaptivePolicy(int Initial, int Wave, int Agree, double? Margin = null)
{
    /// <summary>
    /// The defaults, chosen from the evaluation (EVAL.md, 3,000 test questions, N = 8): two candidates, then the other
    /// six at once unless one verified answer stands alone — the verified vote's accuracy (55.0 % against 54.9 % for
    /// SPRINT) with 79 % of its generated tokens, and never more than two waves.
    /// </summary>
    public static AdaptivePolicy Default { get; } = new(2, 6, 1);

    /// <summary>Parses "INITIAL:WAVE:AGREE" (e.g. "2:6:1") or "INITIAL:WAVE:wMARGIN" (e.g. "2:6:w0.9", decided on the verifier's weights).</summary>
    public static AdaptivePolicy Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 3 && int.TryParse(parts[0], out var i) && int.TryParse(parts[1], out var w))
        {
            if (parts[2].StartsWith('w') && double.TryParse(parts[2].AsSpan(1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var m))
                return new AdaptivePolicy(i, w, Default.Agree, m).Validate();
            if (int.TryParse(parts[2], out var a)) return new AdaptivePolicy(i, w, a).Validate();
        }
        throw new ArgumentException($"adaptive: expected INITIAL:WAVE:AGREE (e.g. 2:6:1) or INITIAL:WAVE:wMARGIN (e.g. 2:6:w0.9), got '{text}'");
    }

    public AdaptivePolicy Validate()
    {
        if (Initial < 1) throw new ArgumentException($"adaptive: the first wave must be at least 1, got {Initial}");
        if (Wave < 1) throw new ArgumentException($"adaptive: a wave must be at least 1, got {Wave}");
        if (Agree < 1) throw new ArgumentException($"adaptive: agree must be at least 1, got {Agree}");
        if (Margin is { } m && !(m > 0 && m <= 64)) throw new ArgumentException($"adaptive: the margin must be in (0, 64], got {m}");
        return this;
    }

    public override string ToString() => Margin is { } m
        ? $"{Initial}:{Wave}:w{m.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
        : $"{Initial}:{Wave}:{Agree}";

    /// <summary>How many candidates the next wave brings the total to, after <paramref name="started"/> of <paramref name="n"/>.</summary>
    public int NextCount(int started, int n) => Math.Min(n, started == 0 ? Initial : started + Wave);

    /// <summary>Whether finished candidates decide the answer (then no further wave starts).</summary>
    public bool Decided<T>(IEnumerable<Ballot<T>> finished)
    {
        var ballots = finished.ToList();
        if (Margin is { } margin && ballots.All(b => b.Confidence is not null))
        {
            var weights = ballots.Where(b => b.Holds && b.Answer is not null)
                .GroupBy(b => AnswerNormalizer.Normalize(b.Answer!)).Select(g => g.Sum(b => b.Confidence!.Value))
                .OrderDescending().ToList();
            return weights.Count > 0 && weights[0] - (weights.Count > 1 ? weights[1] : 0) >= margin;
        }
        var verified = ballots.Where(b => b.Verified && b.Answer is not null)
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
