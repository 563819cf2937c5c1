using Grpc.Core;
using Grpc.Net.Client;
using Sprint.Suite;
using Sprint.ServiceDefaults;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>The Verifier over real gRPC, the verified vote and adaptive waves in the gateway's Solve.</summary>
[Collection(SuiteCollection.Name)]
public sealed class VerifierTests(SuiteFixture suite)
{
    VerifierService.VerifierServiceClient Verifier => new(suite.Channel);

    static CheckRequest Request(params (int Index, string Text)[] candidates)
    {
        var request = new CheckRequest { Question = Rpc.Question };
        request.Candidates.AddRange(candidates.Select(c => new CheckCandidate { Index = c.Index, Text = c.Text }));
        return request;
    }

    [Fact(Timeout = 30_000)]
    public async Task Check_recomputes_each_candidates_steps()
    {
        var response = await Verifier.CheckAsync(Request((2, "21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}"), (0, "21 - 8 = 14\n14 * 4 = 56\n\\boxed{56}"), (5, "I think it is 52.")),
            deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal("step-checker+outcome-verifier:sprint-tiny-math", response.Verifier);   // the shipped model has a learned verifier
        Assert.Equal([(2, 2, 0), (0, 2, 1), (5, 0, 0)], response.Results.Select(r => (r.Index, r.CheckedSteps, r.FailedSteps)));
        Assert.Equal(new StepFailure { Step = 1, Text = "21 - 8 = 14", Written = "14", Computed = "13" }, response.Results[1].FirstFailure);
        Assert.Null(response.Results[0].FirstFailure);
        Assert.Empty(response.Unscored);
        Assert.All(response.Results, r => Assert.InRange(r.Score, 0f, 1f));
        Assert.All(response.Results, r => Assert.True(r.HasScore));
        Assert.True(response.Results[0].Score > response.Results[1].Score, $"right {response.Results[0].Score} <= wrong {response.Results[1].Score}");
        // A score does not depend on the call: the same candidate alone scores the same (batch neighbours do not matter).
        var alone = await Verifier.CheckAsync(Request((7, "21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}")), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(response.Results[0].Score, alone.Results[0].Score, 5);
    }

    [Fact(Timeout = 30_000)]
    public async Task Info_says_the_learned_verifier_is_served()
    {
        var info = await Verifier.VerifierInfoAsync(new VerifierInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.True(info.Scores);
        Assert.Equal("outcome-verifier:sprint-tiny-math", info.OutcomeVerifier);
        Assert.Equal("sprint-tiny-math", info.ModelId);
        Assert.InRange(info.DevAuc, 0.5, 1.0);
        Assert.Empty(info.Unavailable);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_weighted_solve_votes_with_the_scores_it_reports()
    {
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 6, Strategy = Strategy.Sampling, MaxNewTokens = 48, Seed = 11, Aggregation = Aggregation.VerifierWeighted, Rejection = Rpc.NoRejection });
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(Aggregation.VerifierWeighted, plan.Aggregation);
        Assert.Equal(Aggregation.VerifierWeighted, verdict.Aggregation);
        Assert.StartsWith("verifier-weighted vote", verdict.Rule);
        var checks = events.Where(e => e.EventCase == SolveResponse.EventOneofCase.Check).Select(e => e.Check).ToDictionary(c => c.Index);
        Assert.Equal(checks.Keys.Order(), verdict.Scores.Keys.Order());
        foreach (var (index, score) in verdict.Scores) Assert.Equal(checks[index].Score, score);
        // Each answer weighs the sum of its voters' scores; the winner weighs most.
        foreach (var votes in verdict.Votes) Assert.Equal(votes.Candidates.Sum(i => (double)verdict.Scores[i]), votes.Weight, 4);
        Assert.Equal(verdict.Votes.Max(v => v.Weight), verdict.Votes[0].Weight);
        Assert.Equal(verdict.Answer, verdict.Votes[0].Answer);
        Assert.DoesNotContain(verdict.ExcludedCandidates, i => verdict.Votes.Any(v => v.Candidates.Contains(i)));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_margin_adaptive_solve_stops_only_when_the_leader_is_ahead_by_the_margin()
    {
        var request = new SolveRequest
        {
            Question = Rpc.Question, N = 8, Strategy = Strategy.Sampling, MaxNewTokens = 48, Seed = 5, Aggregation = Aggregation.VerifierWeighted,
            Adaptive = new AdaptiveParameters { Initial = 2, Wave = 2, Margin = 0.9f }, Rejection = Rpc.NoRejection,
        };
        var events = await Rpc.Solve(suite.Gateway, request);
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(0.9f, plan.Adaptive.Margin);
        int started = results.Count;
        Assert.True(started is 2 or 4 or 6 or 8, $"{started} candidates: not a whole number of waves");
        var checks = events.Where(e => e.EventCase == SolveResponse.EventOneofCase.Check).Select(e => e.Check).ToDictionary(c => c.Index);
        double Lead(int count)
        {
            var weights = results.Where(r => r.Index < count && r.Answer.Length > 0 && checks[r.Index].FailedSteps == 0)
                .GroupBy(r => Sprint.Answers.AnswerNormalizer.Normalize(r.Answer)).Select(g => g.Sum(r => (double)checks[r.Index].Score)).OrderDescending().ToList();
            return weights.Count == 0 ? 0 : weights[0] - (weights.Count > 1 ? weights[1] : 0);
        }
        if (started < 8) Assert.True(Lead(started) >= 0.9 - 1e-6, $"stopped at {started} with a lead of {Lead(started)}");
        for (int k = 2; k < started; k += 2) Assert.True(Lead(k) < 0.9 + 1e-6, $"went on after {k} with a lead of {Lead(k)}");
        // The same seed, the same waves and vote; scores agree to float noise (a batch's shape may change the last bits).
        var again = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request)).Verdict;
        Assert.Equal(verdict.UnneededCandidates, again.UnneededCandidates);
        Assert.Equal(verdict.Votes.Select(v => (v.Answer, string.Join(",", v.Candidates))), again.Votes.Select(v => (v.Answer, string.Join(",", v.Candidates))));
        Assert.Equal(verdict.Scores.Keys.Order(), again.Scores.Keys.Order());
        foreach (var (i, s) in verdict.Scores) Assert.Equal(s, again.Scores[i], 4);
    }

    [Fact(Timeout = 30_000)]
    public async Task Bad_check_requests_name_their_field()
    {
        var ok = "1 + 1 = 2";
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(new CheckRequest { Question = " ", Candidates = { new CheckCandidate { Text = ok } } }).ResponseAsync, "question");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(new CheckRequest { Question = new string('q', 8 * 1024 + 1), Candidates = { new CheckCandidate { Text = ok } } }).ResponseAsync, "question");
        // The byte limit holds without the learned verifier too (whose own context check would refuse it otherwise).
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(new CheckRequest { Question = new string('q', 8 * 1024 + 1), SkipScores = true, Candidates = { new CheckCandidate { Text = ok } } }).ResponseAsync, "question");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request()).ResponseAsync, "candidates");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request(Enumerable.Range(0, 65).Select(i => (i, ok)).ToArray())).ResponseAsync, "candidates");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request((1, ok), (1, ok))).ResponseAsync, "candidates[1].index");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request((-1, ok))).ResponseAsync, "candidates[0].index");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request((0, ok), (1, ""))).ResponseAsync, "candidates[1].text");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request((0, new string('1', 64 * 1024 + 1)))).ResponseAsync, "candidates[0].text");
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request((0, new string('1', 900 * 1024)))).ResponseAsync, "candidates[0].text");   // refused before any model work
        // 1 MB of text is over the message limit (Service:MaxReceiveMessageBytes, 1 MiB): refused before it is parsed.
        var huge = await Assert.ThrowsAsync<RpcException>(() => Verifier.CheckAsync(Request((0, new string('1', 1024 * 1024)))).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, huge.StatusCode);
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(Request(Enumerable.Range(0, 10_000).Select(i => (i, ok)).ToArray())).ResponseAsync, "candidates");
        // A question so long that no solution fits the learned verifier's context (within the byte limit).
        await Rpc.AssertInvalid(() => Verifier.CheckAsync(new CheckRequest { Question = string.Concat(Enumerable.Repeat("apple ", 1300)), Candidates = { new CheckCandidate { Text = ok } } }).ResponseAsync, "question");
    }

    [Fact(Timeout = 120_000)]
    public async Task Skip_scores_asks_the_learned_verifier_nothing()
    {
        var info = await Verifier.VerifierInfoAsync(new VerifierInfoRequest());
        var request = new CheckRequest { Question = Rpc.Question, Candidates = { new CheckCandidate { Index = 0, Text = "21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}" } } };
        var scored = await Verifier.CheckAsync(request);
        Assert.Equal(info.Scores, scored.Results[0].HasScore);
        Assert.True(info.Scores, "the shipped model's learned verifier should be loaded: this test needs it");
        request.SkipScores = true;
        var skipped = await Verifier.CheckAsync(request);
        Assert.False(skipped.Results[0].HasScore);
        Assert.Equal(CandidateVerifierName, skipped.Verifier);
        Assert.Equal(scored.Results[0].CheckedSteps, skipped.Results[0].CheckedSteps);
    }

    const string CandidateVerifierName = "step-checker";

    [Fact(Timeout = 120_000)]
    public async Task A_verified_solve_streams_every_candidates_check_and_the_verdict_names_the_rule()
    {
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 6, Strategy = Strategy.Sampling, MaxNewTokens = 48, Seed = 11, Rejection = Rpc.NoRejection });
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(Aggregation.VerifiedMajority, plan.Aggregation);   // the default
        Assert.Null(plan.Adaptive);
        var checks = events.Where(e => e.EventCase == SolveResponse.EventOneofCase.Check).Select(e => e.Check).ToList();
        Assert.Equal(results.Where(r => r.Text.Length > 0).Select(r => r.Index).Order(), checks.Select(c => c.Index).Order());
        Assert.Equal(Aggregation.VerifiedMajority, verdict.Aggregation);
        Assert.StartsWith("verified majority", verdict.Rule);
        // The excluded candidates are those with an answer and a failed step (unless every such candidate has one).
        var failing = checks.Where(c => c.FailedSteps > 0 && results.Single(r => r.Index == c.Index).Answer.Length > 0).Select(c => c.Index).Order().ToList();
        bool allFail = failing.Count == results.Count(r => r.Answer.Length > 0);
        Assert.Equal(allFail ? [] : failing, verdict.ExcludedCandidates);
        Rpc.AssertVerdictIsMajority(results, verdict);
        // The plain majority asks the Verifier nothing (without rejection, which checks while decoding).
        var majority = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 6, Strategy = Strategy.Sampling, MaxNewTokens = 48, Seed = 11, Aggregation = Aggregation.Majority, Rejection = Rpc.NoRejection });
        Assert.DoesNotContain(majority, e => e.EventCase == SolveResponse.EventOneofCase.Check);
        Assert.Equal(Aggregation.Majority, majority[^1].Verdict.Aggregation);
        Assert.Empty(majority[^1].Verdict.ExcludedCandidates);
    }

    /// <summary>
    /// An adaptive Solve runs a prefix of the full plan — the same candidates, texts and all — and the same seed gives
    /// the same waves; the candidates it never started are reported as not needed.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task An_adaptive_solve_is_a_reproducible_prefix_of_the_full_plan()
    {
        var request = new SolveRequest { Question = Rpc.Question, N = 8, Strategy = Strategy.RandomHeads, MaxNewTokens = 48, Seed = 5, Adaptive = new AdaptiveParameters { Initial = 2, Wave = 2, Agree = 2 }, Rejection = Rpc.NoRejection };
        var first = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        var second = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        var full = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, new SolveRequest(request) { Adaptive = null }));
        Assert.Equal(new AdaptiveParameters { Initial = 2, Wave = 2, Agree = 2 }, first.Plan.Adaptive);
        Assert.Equal(full.Plan.Candidates, first.Plan.Candidates);   // the plan is still the plan for n
        int started = first.Results.Count;
        Assert.True(started is 2 or 4 or 6 or 8, $"{started} candidates: not a whole number of waves");
        Assert.Equal(Enumerable.Range(started, 8 - started), first.Verdict.UnneededCandidates);
        Assert.Equal(first.Results.OrderBy(r => r.Index).Select(r => r.Text), second.Results.OrderBy(r => r.Index).Select(r => r.Text));
        Assert.Equal(first.Verdict, second.Verdict);
        Assert.Equal(full.Results.OrderBy(r => r.Index).Take(started).Select(r => r.Text), first.Results.OrderBy(r => r.Index).Select(r => r.Text));
        Assert.Empty(full.Verdict.UnneededCandidates);
    }

    [Fact(Timeout = 30_000)]
    public async Task Bad_solve_fields_of_the_vote_name_their_field()
    {
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", Aggregation = (Aggregation)9 }), "aggregation");
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Agree = -1 } }), "adaptive.agree");
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Margin = -1 } }), "adaptive.margin");
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", Adaptive = new AdaptiveParameters { Margin = float.NaN } }), "adaptive.margin");
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", TopK = -4 }), "top_k");
        await Rpc.AssertInvalid(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = "q", TopP = 2 }), "top_p");
    }
}

/// <summary>Verifiers of their own processes: without a learned verifier, with a refused one, and with one too slow for its timeout.</summary>
public sealed class VerifierModelTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-verifier-model-").FullName;

    static CheckRequest Request() => new() { Question = Rpc.Question, Candidates = { new CheckCandidate { Index = 0, Text = "21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}" } } };

    static async Task<(VerifierInfoResponse Info, CheckResponse Check)> Ask(ServiceProcess verifier)
    {
        using var channel = GrpcChannel.ForAddress(verifier.Address);
        var client = new VerifierService.VerifierServiceClient(channel);
        return (await client.VerifierInfoAsync(new VerifierInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(20)),
                await client.CheckAsync(Request(), deadline: DateTime.UtcNow.AddSeconds(20)));
    }

    /// <summary>The shipped model's folder copied, with its verifier files passed through <paramref name="edit"/> (or left out).</summary>
    string ModelCopy(string name, Func<string, string>? editMetadata)
    {
        var copy = Path.Combine(dir, name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Paths.Model))
            if (!Path.GetFileName(file).StartsWith("verifier.", StringComparison.Ordinal) && !file.EndsWith(".png") && !file.EndsWith(".jsonl"))
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        if (editMetadata is not null)
        {
            File.Copy(Path.Combine(Paths.Model, "verifier.safetensors"), Path.Combine(copy, "verifier.safetensors"));
            File.WriteAllText(Path.Combine(copy, "verifier.json"), editMetadata(File.ReadAllText(Path.Combine(Paths.Model, "verifier.json"))));
        }
        return copy;
    }

    /// <summary>The Check was answered by the step checker alone: its steps, no score.</summary>
    static void AssertStepChecksOnly(CheckResponse check)
    {
        Assert.Equal("step-checker", check.Verifier);
        Assert.False(check.Results[0].HasScore);
        Assert.Equal(2, check.Results[0].CheckedSteps);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_a_learned_verifier_checks_carry_no_score_and_info_says_why()
    {
        using (var none = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", "--Verifier:Model="))
        {
            var (info, check) = await Ask(none);
            Assert.False(info.Scores);
            Assert.Contains("no verifier model is configured", info.Unavailable);
            AssertStepChecksOnly(check);
        }
        using var missing = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", $"--Verifier:Model={ModelCopy("plain", null)}");
        var (info2, check2) = await Ask(missing);
        Assert.Contains("model 'plain' has no learned verifier (sprint train-verifier writes verifier.safetensors)", info2.Unavailable);
        AssertStepChecksOnly(check2);
        // A model folder that is not there: one log line names it; callers learn that it failed, not the server's paths.
        var gone = Path.Combine(dir, "no-such-model");
        using var absent = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", $"--Verifier:Model={gone}");
        var (info3, check3) = await Ask(absent);
        Assert.Contains("failed to load (the service's log says why)", info3.Unavailable);
        Assert.DoesNotContain(dir, info3.Unavailable);
        Assert.Contains("loading the learned verifier failed", absent.Log);
        Assert.Contains(gone, absent.Log);
        AssertStepChecksOnly(check3);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_verifier_for_another_model_is_refused_at_start_up_with_one_line()
    {
        var folder = ModelCopy("foreign", json => json.Replace("\"model_id\": \"sprint-tiny-math\"", "\"model_id\": \"qwen2.5-math-1.5b\"")
            .Replace("\"features_id\": \"sprint-tiny-math:", "\"features_id\": \"qwen2.5-math-1.5b:"));
        using var verifier = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", $"--Verifier:Model={folder}");
        var (info, check) = await Ask(verifier);
        Assert.False(info.Scores);
        Assert.Contains("the verifier was trained for model 'qwen2.5-math-1.5b', not 'foreign'", info.Unavailable);
        Assert.Contains("loading the learned verifier failed: the verifier was trained for model 'qwen2.5-math-1.5b', not 'foreign'", verifier.Log);
        AssertStepChecksOnly(check);   // the step checks still served
    }

    [Fact(Timeout = 120_000)]
    public async Task A_verifier_slower_than_its_timeout_answers_the_step_checks_without_scores()
    {
        using var verifier = await ServiceProcess.StartService("Verifier", "Sprint.Verifier", "--Verifier:ScoreTimeout=00:00:00.0001");
        var (info, check) = await Ask(verifier);
        Assert.True(info.Scores);
        Assert.Contains("took longer than", check.Unscored);
        AssertStepChecksOnly(check);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}

/// <summary>A Verifier of its own process, killed while Solves run: no Solve is lost, they vote by plain majority and say so.</summary>
public sealed class VerifierFaultTests
{
    [Fact(Timeout = 240_000)]
    public async Task A_verifier_killed_mid_load_loses_no_solve()
    {
        using var verifier = await ServiceProcess.StartService("Verifier", "Sprint.Verifier");
        await using var app = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
            ["--Generator:Threads=1", "--Embedding:Threads=1", $"--Gateway:VerifierAddress={verifier.Address}", "--Gateway:VerifierTimeout=00:00:01"]);
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.GrpcAddress());
        await SuiteFixture.WaitServingAsync(channel, "");
        var gateway = new GatewayService.GatewayServiceClient(channel);
        SolveRequest Request(int i) => new() { Question = Rpc.Question, N = 4, Strategy = Strategy.Sampling, MaxNewTokens = 40, Seed = (ulong)i };

        var before = Rpc.AssertWellFormed(await Rpc.Solve(gateway, Request(0)));
        Assert.Equal(Aggregation.VerifiedMajority, before.Verdict.Aggregation);

        // Six Solves at once; the Verifier dies as soon as the first check has come back.
        var solves = Enumerable.Range(1, 6).Select(i => gateway.Solve(Request(i), deadline: DateTime.UtcNow.AddMinutes(3))).ToList();
        var firstCheck = new TaskCompletionSource();
        var reads = solves.Select(async call =>
        {
            var events = new List<SolveResponse>();
            await foreach (var e in call.ResponseStream.ReadAllAsync())
            {
                events.Add(e);
                if (e.EventCase == SolveResponse.EventOneofCase.Check) firstCheck.TrySetResult();
            }
            return events;
        }).ToList();
        await Task.WhenAny(firstCheck.Task, Task.WhenAll(reads));
        verifier.Dispose();   // killed with its tree
        var all = await Task.WhenAll(reads);
        foreach (var call in solves) call.Dispose();

        foreach (var events in all)
        {
            var (_, results, verdict) = Rpc.AssertWellFormed(events);
            Rpc.AssertVerdictIsMajority(results, verdict);
            if (verdict.Aggregation == Aggregation.Majority) Assert.Contains("the verifier failed", verdict.Rule);
        }
        var after = Rpc.AssertWellFormed(await Rpc.Solve(gateway, Request(7)));
        Assert.Equal(Aggregation.Majority, after.Verdict.Aggregation);
        Assert.Contains("verified vote not possible, the verifier failed", after.Verdict.Rule);
        Assert.Empty(after.Verdict.ExcludedCandidates);
        Rpc.AssertVerdictIsMajority(after.Results, after.Verdict);
    }
}
