using Spectre.Console;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Cli;

interface ISolveView
{
    Task RunAsync(IAsyncEnumerable<SolveResponse> events);
}

/// <summary>One line per plan, finished candidate and verdict: for logs, pipes and tests.</summary>
sealed class PlainSolveView(TextWriter output) : ISolveView
{
    public async Task RunAsync(IAsyncEnumerable<SolveResponse> events)
    {
        await foreach (var e in events)
        {
            switch (e.EventCase)
            {
                case SolveResponse.EventOneofCase.Plan:
                    output.WriteLine($"plan: {e.Plan.Strategy.ToCore().Name()}, {e.Plan.Candidates.Count} candidates, seed {e.Plan.Seed}" +
                        (e.Plan.EncoderId.Length > 0 ? $", embedding {(e.Plan.EmbeddingCached ? "cached" : "computed")}" : ""));
                    if (Plans.Fallback(e.Plan) is { } fallback) output.WriteLine(fallback);
                    if (Plans.Rejection(e.Plan) is { } rejection) output.WriteLine(rejection);
                    foreach (var c in e.Plan.Candidates) output.WriteLine($"  [{c.Index}] {c.Configuration.Name} score {c.Score:F3} temperature {c.Temperature}");
                    break;
                case SolveResponse.EventOneofCase.Stop:
                    output.WriteLine(Plans.Describe(e.Stop));
                    break;
                case SolveResponse.EventOneofCase.Candidate:
                    var r = e.Candidate;
                    output.WriteLine(r.Error.Length > 0 ? $"candidate [{r.Index}] {r.Configuration}: FAILED {r.Error}"
                        : $"candidate [{r.Index}] {r.Configuration}: answer {(r.Answer.Length > 0 ? r.Answer : "(none)")}, {r.Tokens} tokens, " +
                          $"mean log-prob {r.MeanLogProb:F3}, {r.FinishReason}");
                    break;
                case SolveResponse.EventOneofCase.Check:
                    output.WriteLine($"check [{e.Check.Index}] {Checks.Describe(e.Check)}");
                    break;
                case SolveResponse.EventOneofCase.Verdict:
                    var v = e.Verdict;
                    output.WriteLine($"verdict: {(v.Answer.Length > 0 ? v.Answer : "(no answer)")} — " +
                        string.Join(", ", v.Votes.Select(x => $"{x.Answer}: {x.Votes}{Checks.Weight(v, x)} [{string.Join(",", x.Candidates)}]")) +
                        (v.Scores.Count > 0 ? $"; scores: {string.Join(",", v.Scores.OrderBy(kv => kv.Key).Select(kv => System.FormattableString.Invariant($"{kv.Key}:{kv.Value:F2}")))}" : "") +
                        (v.FailedCandidates.Count > 0 ? $"; failed: {string.Join(",", v.FailedCandidates)}" : "") +
                        (v.ExcludedCandidates.Count > 0 ? $"; excluded (a step fails): {string.Join(",", v.ExcludedCandidates)}" : "") +
                        (v.UnneededCandidates.Count > 0 ? $"; not needed: {string.Join(",", v.UnneededCandidates)}" : "") +
                        (v.StoppedCandidates.Count > 0 ? $"; stopped at a failed step: {string.Join(",", v.StoppedCandidates)}" : "") +
                        $"; {v.GeneratedTokens} tokens generated; chosen candidate {v.ChosenCandidate}; rule: {v.Rule}");
                    break;
            }
        }
    }
}

/// <summary>A candidate's check in a few characters: "✓ 3 steps", "✗ at step 2 (21 - 8 = 14, is 13)", "– no step to check", and ", score 0.91" when the learned verifier scored it.</summary>
static class Checks
{
    public static string Describe(CheckResult c) => (c.FailedSteps > 0
        ? $"✗ at step {c.FirstFailure?.Step} ({c.FirstFailure?.Text}, is {c.FirstFailure?.Computed})"
        : c.CheckedSteps > 0 ? $"✓ {c.CheckedSteps} step{(c.CheckedSteps == 1 ? "" : "s")}" : "– no step to check")
        + (c.HasScore ? System.FormattableString.Invariant($", score {c.Score:F2}") : "");

    /// <summary>", weight W" when the weighted vote decided (the answer's summed scores), else nothing.</summary>
    public static string Weight(Verdict verdict, AnswerVotes votes) =>
        verdict.Aggregation == Aggregation.VerifierWeighted ? System.FormattableString.Invariant($" (weight {votes.Weight:F2})") : "";
}

/// <summary>What the plan says when it is not the strategy asked for: "fell back to sampling: sprint's heads could not be chosen (embedding: unreachable (Unavailable))".</summary>
static class Plans
{
    /// <summary>"rejection: replace (keep-last, up to 16 candidates)"; null when none.</summary>
    public static string? Rejection(Plan plan) => plan.Rejection is { Mode: not (RejectionMode.None or RejectionMode.Unspecified) } r
        ? $"rejection: {(r.Mode == RejectionMode.Stop ? "stop" : "replace")} a candidate at its first failed step ({r.EveryoneFails switch
        {
            EveryoneFailsRule.StopAll => "every one",
            EveryoneFailsRule.KeepAlways => "never the last free of a failed step",
            _ => "the last free of a failed step only for a replacement",
        }}{(r.Mode == RejectionMode.Replace ? $"; up to {r.MaxCandidates} candidates" : "")})"
        : null;

    /// <summary>"stopped [3] 2:5 at token 12: step 1 (21 - 8 = 14, is 13); [8] starts in its place".</summary>
    public static string Describe(CandidateStop s) =>
        $"stopped [{s.Index}] {s.Configuration} at token {s.AtToken}: step {s.Failure?.Step} ({s.Failure?.Text}, is {s.Failure?.Computed})" +
        (s.HasReplacement ? $"; [{s.Replacement}] starts in its place" : "");

    public static string? Fallback(Plan plan) => plan.Fallback is { } f
        ? $"fell back to {plan.Strategy.ToCore().Name()}: {f.Requested.ToCore().Name()}'s heads could not be chosen ({f.Reason})"
        : null;
}

/// <summary>A live table, one row per candidate, its text streaming in; then the verdict and the chosen solution.</summary>
sealed class LiveSolveView : ISolveView
{
    const int TailChars = 70;

    public async Task RunAsync(IAsyncEnumerable<SolveResponse> events)
    {
        var table = new Table().Border(TableBorder.Rounded).Expand()
            .AddColumn("#").AddColumn("config").AddColumn("tokens").AddColumn("output (streaming)").AddColumn("answer").AddColumn("check");
        var texts = new Dictionary<int, System.Text.StringBuilder>();
        var tokens = new Dictionary<int, int>();
        var rows = new Dictionary<int, int>();   // candidate index → table row (replacements get rows as they start)
        Plan? plan = null;
        int Row(int index)
        {
            if (rows.TryGetValue(index, out var row)) return row;
            var name = plan?.Candidates.Concat(plan.Replacements).FirstOrDefault(c => c.Index == index)?.Configuration.Name ?? "";
            table.AddRow(index.ToString(), Markup.Escape(name), "0", "", "", "");
            texts[index] = new();
            tokens[index] = 0;
            return rows[index] = rows.Count;
        }
        Verdict? verdict = null;
        var results = new Dictionary<int, CandidateResult>();
        await AnsiConsole.Live(table).AutoClear(false).StartAsync(async ctx =>
        {
            var lastRefresh = DateTime.UtcNow;
            await foreach (var e in events)
            {
                switch (e.EventCase)
                {
                    case SolveResponse.EventOneofCase.Plan:
                        plan = e.Plan;
                        table.Title($"{e.Plan.Strategy.ToCore().Name()} × {e.Plan.Candidates.Count}");
                        var caption = string.Join("\n", new[] { Plans.Fallback(e.Plan), Plans.Rejection(e.Plan) }.OfType<string>());
                        if (caption.Length > 0) table.Caption(Markup.Escape(caption));
                        foreach (var c in e.Plan.Candidates) Row(c.Index);
                        break;
                    case SolveResponse.EventOneofCase.Delta:
                        var d = e.Delta;
                        int dr = Row(d.Index);
                        texts[d.Index].Append(d.Text);
                        tokens[d.Index]++;
                        table.UpdateCell(dr, 2, tokens[d.Index].ToString());
                        table.UpdateCell(dr, 3, Markup.Escape(Tail(texts[d.Index].ToString())));
                        break;
                    case SolveResponse.EventOneofCase.Restart:   // its replica failed: it starts over elsewhere
                        int rr = Row(e.Restart.Index);
                        texts[e.Restart.Index].Clear();
                        tokens[e.Restart.Index] = 0;
                        table.UpdateCell(rr, 2, "0");
                        table.UpdateCell(rr, 3, "[dim](restarted)[/]");
                        break;
                    case SolveResponse.EventOneofCase.Stop:   // a failed step: stopped (and replaced)
                        var st = e.Stop;
                        table.UpdateCell(Row(st.Index), 5, "[red]" + Markup.Escape($"stopped: {st.Failure?.Text}, is {st.Failure?.Computed}" + (st.HasReplacement ? $" → [{st.Replacement}]" : "")) + "[/]");
                        if (st.HasReplacement) Row(st.Replacement);
                        break;
                    case SolveResponse.EventOneofCase.Candidate:
                        var r = e.Candidate;
                        results[r.Index] = r;
                        int cr = Row(r.Index);
                        table.UpdateCell(cr, 2, r.Tokens.ToString());
                        table.UpdateCell(cr, 4, r.Error.Length > 0 ? "[red]failed[/]" : r.FinishReason == FinishReason.Rejected ? "[dim]stopped[/]" : Markup.Escape(r.Answer.Length > 0 ? r.Answer : "—"));
                        break;
                    case SolveResponse.EventOneofCase.Check:
                        var check = e.Check;
                        if (results.TryGetValue(check.Index, out var checkedResult) && checkedResult.FinishReason == FinishReason.Rejected) break;   // its stop says more
                        table.UpdateCell(Row(check.Index), 5, (check.FailedSteps > 0 ? "[red]" : check.CheckedSteps > 0 ? "[green]" : "[dim]") + Markup.Escape(Checks.Describe(check)) + "[/]");
                        break;
                    case SolveResponse.EventOneofCase.Verdict:
                        verdict = e.Verdict;
                        foreach (var i in verdict.UnneededCandidates) table.UpdateCell(Row(i), 3, "[dim](not needed: the answer was decided)[/]");
                        break;
                }
                if (DateTime.UtcNow - lastRefresh > TimeSpan.FromMilliseconds(50)) { ctx.Refresh(); lastRefresh = DateTime.UtcNow; }
            }
            ctx.Refresh();
        });
        if (verdict is null) return;
        var votes = string.Join("\n", verdict.Votes.Select(v => $"{Markup.Escape(v.Answer)}: {v.Votes} vote(s){Checks.Weight(verdict, v)} from [[{string.Join(", ", v.Candidates)}]]"));
        var chosen = verdict.ChosenCandidate >= 0 && results.TryGetValue(verdict.ChosenCandidate, out var best) ? best.Text : "";
        AnsiConsole.Write(new Panel(new Markup($"[bold]{Markup.Escape(verdict.Answer.Length > 0 ? verdict.Answer : "no answer")}[/]\n\n{votes}" +
            (verdict.FailedCandidates.Count > 0 ? $"\nfailed: {string.Join(", ", verdict.FailedCandidates)}" : "") +
            (verdict.ExcludedCandidates.Count > 0 ? $"\nexcluded (a step fails): {string.Join(", ", verdict.ExcludedCandidates)}" : "") +
            (verdict.UnneededCandidates.Count > 0 ? $"\nnot needed: {string.Join(", ", verdict.UnneededCandidates)}" : "") +
            (verdict.StoppedCandidates.Count > 0 ? $"\nstopped at a failed step: {string.Join(", ", verdict.StoppedCandidates)}" : "") +
            $"\n{verdict.GeneratedTokens} tokens generated" +
            $"\n[dim]{Markup.Escape(verdict.Rule)}[/]" +
            (chosen.Length > 0 ? $"\n\n[dim]candidate {verdict.ChosenCandidate}:[/]\n{Markup.Escape(chosen)}" : "")))
            .Header("verdict").Border(BoxBorder.Rounded));
    }

    static string Tail(string text)
    {
        var flat = text.ReplaceLineEndings(" ⏎ ");
        return flat.Length <= TailChars ? flat : "…" + flat[^TailChars..];
    }
}
