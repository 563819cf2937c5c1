namespace Sprint.Answers;

/// <summary>What happens to a candidate whose written step fails while it decodes.</summary>
public enum Rejection
{
    /// <summary>Nothing: every candidate decodes to its end and the vote leaves out those with a failed step.</summary>
    None,
    /// <summary>It is stopped at the end of the line holding its first failed step (its tokens after that are saved).</summary>
    Stop,
    /// <summary>It is stopped, and the plan's next candidate starts in its place (up to <see cref="RejectionPolicy.Cap"/> in all).</summary>
    Replace,
}

/// <summary>When every candidate would be stopped: the rule that keeps something to vote on.</summary>
public enum EveryoneFails
{
    /// <summary>
    /// The default, chosen on the dev split: a failed candidate is stopped when another candidate is free of a failed
    /// step at that moment (running without one, or finished holding with an answer) or when a replacement starts in
    /// its place; otherwise (the plan used up, or <see cref="Rejection.Stop"/>) it decodes on, so a question the model
    /// slips on everywhere still has finished answers for the everyone-failed vote.
    /// </summary>
    KeepLast,
    /// <summary>As <see cref="KeepLast"/>, but kept even when a replacement could start in its place.</summary>
    KeepAlways,
    /// <summary>Every failed candidate is stopped (the vote may have nothing to count).</summary>
    StopAll,
}

/// <summary>The replacement cap's default: 2n candidates in all.</summary>
public static class RejectionDefaults
{
    public const int CapFactor = 2;
}

/// <summary>
/// Verify while decoding: a candidate whose written step fails is stopped at the end of that line, and (under
/// <see cref="Rejection.Replace"/>) the plan's next candidate starts in its place, so that the tokens a doomed candidate
/// would have cost buy a fresh one. <see cref="Guard"/> decides the everyone-fails case. The default is chosen on the
/// dev split (EVAL.md, "Verify while decoding").
/// </summary>
/// <param name="CapFactor">Replace: at most <c>CapFactor × n</c> candidates start in all (the plan is that long).</param>
public sealed record RejectionPolicy(Rejection Mode, EveryoneFails Guard = EveryoneFails.KeepLast, int CapFactor = RejectionDefaults.CapFactor)
{
    public static RejectionPolicy None { get; } = new(Rejection.None);

    /// <summary>
    /// What a Solve does unless it asks otherwise: replace, keep-last, up to 2n — chosen on the dev split (EVAL.md,
    /// "Verify while decoding": SPRINT N = 8, 59.2 % against the verified vote's 55.3 % with 97 % of its tokens).
    /// </summary>
    public static RejectionPolicy Default { get; } = new(Rejection.Replace);

    /// <summary>How many candidates a Solve of <paramref name="n"/> may start in all (the plan's length).</summary>
    public int Cap(int n) => Mode == Rejection.Replace ? checked(n * CapFactor) : n;

    public bool Active => Mode != Rejection.None;

    /// <summary>
    /// The names on command lines: none, stop, replace; a suffix "!" stops every failed candidate
    /// (<see cref="EveryoneFails.StopAll"/>), "~" keeps the last one free of a failed step even when it could be replaced
    /// (<see cref="EveryoneFails.KeepAlways"/>); "xK" starts at most K × n candidates (default 2).
    /// </summary>
    public override string ToString() => Mode switch
    {
        Rejection.None => "none",
        _ => (Mode == Rejection.Stop ? "stop" : "replace") + Guard switch { EveryoneFails.KeepLast => "", EveryoneFails.StopAll => "!", _ => "~" }
            + (Mode == Rejection.Replace && CapFactor != RejectionDefaults.CapFactor ? $"x{CapFactor}" : ""),
    };

    /// <summary>Parses what <see cref="ToString"/> writes, e.g. "replace", "stop!", "replace~x3".</summary>
    public static RejectionPolicy Parse(string text, string field = "rejection")
    {
        var t = text.Trim().ToLowerInvariant();
        int cap = RejectionDefaults.CapFactor;
        int x = t.IndexOf('x', StringComparison.Ordinal);
        if (x > 0 && t.StartsWith("replace", StringComparison.Ordinal))
        {
            if (!int.TryParse(t.AsSpan(x + 1), out cap) || cap < 1 || cap > 8) throw new ArgumentException($"{field}: the replacement cap xK needs K in 1..8, got '{text}'");
            t = t[..x];
        }
        var guard = t.EndsWith('!') ? EveryoneFails.StopAll : t.EndsWith('~') ? EveryoneFails.KeepAlways : EveryoneFails.KeepLast;
        return (t.Length > 1 ? t[..^(guard == EveryoneFails.KeepLast ? 0 : 1)] : t) switch
        {
            "stop" when guard == EveryoneFails.KeepAlways => throw new ArgumentException($"{field}: '~' (kept even when a replacement could start) applies to replace only, got '{text}'"),
            "none" when guard == EveryoneFails.KeepLast => None,
            "stop" => new RejectionPolicy(Rejection.Stop, guard),
            "replace" => new RejectionPolicy(Rejection.Replace, guard, cap),
            _ => throw new ArgumentException($"{field}: unknown '{text}'; expected none, stop or replace (a suffix ! stops every failed candidate, ~ keeps the last free one, xK caps replace at K × n)"),
        };
    }
}

/// <summary>What <see cref="RejectionRace"/> decided about a candidate whose step failed.</summary>
/// <param name="Index">The candidate.</param>
/// <param name="AtToken">Its tokens when the failing line was complete: where it stops (or would have).</param>
/// <param name="Stopped">False: kept (<see cref="EveryoneFails"/>), it decodes to its end.</param>
/// <param name="Replacement">The plan index started in its place; null when none (stop only, or the cap was reached).</param>
public sealed record RejectionDecision(int Index, int AtToken, bool Stopped, int? Replacement);

/// <summary>
/// The one implementation of the rejection policy, for the gateway (fed as tokens, Verifier answers and results
/// arrive) and for <c>sprint eval</c> (fed every candidate's whole story at once) — both get the same decisions, so
/// a seed reproduces a Solve.
/// <para>
/// Time is counted in decode steps, as a batch decodes its rows in lockstep: the candidates of a wave start at 0, a
/// replacement at the moment the candidate it replaces stopped. A candidate's failure happens at its start plus the
/// tokens it had when the failing line was complete. Decisions are taken in time order (ties by index), and one at
/// time T only once every other candidate's state at T is known — its tokens and the Verifier's word on its lines up
/// to T — so an answer that arrives late delays a stop (the candidate decodes on meanwhile: the stop's lag) but never
/// changes it. A candidate is "free of a failed step" at T when it has started, is not stopped, has no failed line by
/// T and, if it finished by T, holds with an answer.
/// </para>
/// </summary>
public sealed class RejectionRace
{
    sealed class Runner
    {
        public long Start;
        public long Known = 1;       // status known for times < Start + Known (tokens decoded and checked; at its start, nothing happened yet)
        public int? Failure;         // tokens at the first failed line's end
        public int? Length;          // tokens when it finished (status known once Finished was told)
        public bool FinalHolds;      // finished holding, with an answer
        public bool Finished;        // the result and its final check are in
        public long? StoppedAt;
        public bool Decided;         // its failure was decided
    }

    readonly RejectionPolicy policy;
    readonly int cap;
    readonly bool heldBefore;
    readonly SortedDictionary<int, Runner> runners = [];
    readonly List<RejectionDecision> decisions = [];

    /// <param name="next">The first plan index a replacement takes (the candidates started before this race).</param>
    /// <param name="cap">Plan indices below this may be started (<see cref="RejectionPolicy.Cap"/>).</param>
    /// <param name="heldBefore">A candidate of an earlier wave finished holding with an answer (a voter already exists).</param>
    public RejectionRace(RejectionPolicy policy, int next, int cap, bool heldBefore = false)
    {
        this.policy = policy;
        this.cap = cap;
        this.heldBefore = heldBefore;
        Next = next;
    }

    /// <summary>The next plan index a replacement would take (every index below it has started).</summary>
    public int Next { get; private set; }

    /// <summary>Every decision so far, in the order taken.</summary>
    public IReadOnlyList<RejectionDecision> Decisions => decisions;

    /// <summary>A candidate of the wave, started at time 0 (replacements are started by the race itself).</summary>
    public void Started(int index) => runners.Add(index, new Runner());

    /// <summary>The candidate's tokens and step checks are known through <paramref name="tokens"/> tokens (no failed line before it unless told).</summary>
    public void Known(int index, int tokens)
    {
        var r = runners[index];
        r.Known = Math.Max(r.Known, tokens + 1L);
    }

    /// <summary>The candidate's first failed step is on the line its <paramref name="atToken"/>-th token completed.</summary>
    public void Failed(int index, int atToken)
    {
        var r = runners[index];
        if (r.Failure is not null) return;
        r.Failure = atToken;
        r.Known = Math.Max(r.Known, atToken + 1L);
    }

    /// <summary>The candidate ended after <paramref name="tokens"/> tokens, holding with an answer or not (its final check is in).</summary>
    public void Finished(int index, int tokens, bool holds)
    {
        var r = runners[index];
        r.Length = tokens;
        r.FinalHolds = holds && r.Failure is null;
        r.Finished = true;
        r.Known = long.MaxValue / 2;
    }

    /// <summary>Whether the candidate is in this race.</summary>
    public bool Knows(int index) => runners.ContainsKey(index);

    /// <summary>Whether a failed step of the candidate was told.</summary>
    public bool HasFailure(int index) => runners.TryGetValue(index, out var r) && r.Failure is not null;

    /// <summary>Whether the candidate was stopped (a decision said so).</summary>
    public bool IsStopped(int index) => runners.TryGetValue(index, out var r) && r.StoppedAt is not null;

    /// <summary>No decision is waiting: every failure told so far was decided.</summary>
    public bool Settled => runners.Values.All(r => r.Failure is null || r.Decided);

    /// <summary>Takes every decision that can be taken now, in time order; returns the new ones.</summary>
    public IReadOnlyList<RejectionDecision> Resolve()
    {
        int before = decisions.Count;
        while (true)
        {
            // The earliest undecided failure (told while decoding; one on the last line is only in the final check).
            (int Index, long Time)? first = null;
            foreach (var (index, r) in runners)
                if (r.Failure is { } f && !r.Decided && (first is null || r.Start + f < first.Value.Time))
                    first = (index, r.Start + f);
            if (first is not { } e) break;
            // Every other candidate's state at that time must be known.
            if (runners.Any(p => p.Key != e.Index && !Settles(p.Value, e.Time))) break;
            var failed = runners[e.Index];
            failed.Decided = true;
            bool replaceable = policy.Mode == Rejection.Replace && Next < cap;
            bool stop = policy.Active && (policy.Guard == EveryoneFails.StopAll || policy.Guard == EveryoneFails.KeepLast && replaceable
                || heldBefore || runners.Any(p => p.Key != e.Index && FreeAt(p.Value, e.Time)));
            int? replacement = null;
            if (stop)
            {
                failed.StoppedAt = e.Time;
                if (policy.Mode == Rejection.Replace && Next < cap)
                {
                    replacement = Next++;
                    runners.Add(replacement.Value, new Runner { Start = e.Time });
                }
            }
            decisions.Add(new RejectionDecision(e.Index, failed.Failure!.Value, stop, replacement));
        }
        return decisions.Skip(before).ToList();
    }

    /// <summary>Its state at <paramref name="time"/> is known (or cannot matter: stopped before, started after).</summary>
    static bool Settles(Runner r, long time) =>
        r.Start > time || r.StoppedAt <= time || r.Finished || r.Start + r.Known > time;

    /// <summary>Free of a failed step at <paramref name="time"/>.</summary>
    static bool FreeAt(Runner r, long time)
    {
        if (r.Start > time || r.StoppedAt <= time) return false;
        if (r.Failure is { } f && r.Start + f <= time) return false;
        if (r.Finished && r.Start + r.Length!.Value < time) return r.FinalHolds;
        return true;
    }
}

/// <summary>One candidate's whole story, for a replay: its tokens, where its first failed line ended (null: none while decoding), and whether it holds with an answer at its end.</summary>
public sealed record RaceStory(int Tokens, int? FailureToken, bool Holds);

/// <summary>
/// What ran of a plan under a rejection policy: the plan indices started (in order), the decisions taken, and per
/// candidate the tokens it generated (a stopped one's up to its stop: the gateway's count less the stop's lag).
/// </summary>
public sealed record RejectionOutcome(IReadOnlyList<int> Started, IReadOnlyDictionary<int, RejectionDecision> Decisions, IReadOnlyDictionary<int, int> Tokens)
{
    public bool IsStopped(int index) => Decisions.TryGetValue(index, out var d) && d.Stopped;
    /// <summary>The started candidates that were not stopped: they ran to their end and vote.</summary>
    public IEnumerable<int> Finished => Started.Where(i => !IsStopped(i));
    public int GeneratedTokens => Tokens.Values.Sum();
}

/// <summary>
/// The evaluator's replay of a Solve under a rejection policy (and adaptive waves), on candidates decoded to their
/// end: the same waves and the same <see cref="RejectionRace"/> the gateway runs, told every candidate's story at
/// once — so the same candidates start, stop and vote as in a Solve with the same seed.
/// </summary>
public static class RejectionReplay
{
    /// <param name="plan">The plan's candidates in order, at least <see cref="RejectionPolicy.Cap"/>(n) of them.</param>
    /// <param name="decided">Adaptive: whether the finished candidates (plan indices) decide the answer; null runs one wave of n.</param>
    public static RejectionOutcome Run(IReadOnlyList<RaceStory> plan, int n, RejectionPolicy policy, AdaptivePolicy? adaptive = null,
        Func<IReadOnlyList<int>, bool>? decided = null)
    {
        int cap = policy.Cap(n);
        if (plan.Count < cap) throw new ArgumentException($"a replay of n = {n} under '{policy}' needs {cap} candidates of the plan, got {plan.Count}");
        var started = new List<int>();
        var decisions = new Dictionary<int, RejectionDecision>();
        int slots = 0, next = 0;
        bool held = false;
        while (slots < n)
        {
            int target = adaptive?.NextCount(slots, n) ?? n;
            var wave = Enumerable.Range(next, Math.Min(target - slots, cap - next)).ToList();   // replacements may have used the plan up
            if (wave.Count == 0) break;
            var race = new RejectionRace(policy, next + wave.Count, cap, held);
            slots = target;
            foreach (var i in wave) Tell(race, i, plan[i], started);
            for (var made = race.Resolve(); made.Count > 0; made = race.Resolve())
                foreach (var d in made)
                {
                    decisions[d.Index] = d;
                    if (d.Replacement is int r) Tell(race, r, plan[r], started, replacement: true);
                }
            next = race.Next;
            held |= started.Any(i => !decisions.ContainsKey(i) && plan[i].Holds);
            if (adaptive is null || decided is null || decided(started.Where(i => !(decisions.TryGetValue(i, out var d) && d.Stopped)).ToList())) break;
        }
        var tokens = started.ToDictionary(i => i, i => decisions.TryGetValue(i, out var d) && d.Stopped ? d.AtToken : plan[i].Tokens);
        return new RejectionOutcome(started, decisions, tokens);
    }

    static void Tell(RejectionRace race, int index, RaceStory story, List<int> started, bool replacement = false)
    {
        if (!replacement) race.Started(index);
        started.Add(index);
        if (story.FailureToken is int f) race.Failed(index, f);
        race.Finished(index, story.Tokens, story.Holds);
    }

    /// <summary>
    /// Where a decoded text's first failed line ended, in tokens: the first token whose text reached that line's
    /// newline (<paramref name="textEnds"/>[i]: the text's length once token i was decoded). Null when no completed
    /// line fails (a failure on the last, unterminated line is found only at the end).
    /// </summary>
    public static int? FailureToken(string text, IReadOnlyList<int> textEnds)
    {
        var reader = new StepReader();
        int at = 0;
        for (int nl = text.IndexOf('\n'); nl >= 0; nl = text.IndexOf('\n', at))
        {
            var failure = reader.Append(text[at..(nl + 1)]);
            at = nl + 1;
            if (failure is null) continue;
            for (int i = 0; i < textEnds.Count; i++)
                if (textEnds[i] >= at) return i + 1;
            return textEnds.Count;
        }
        return null;
    }
}
