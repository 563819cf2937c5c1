using System.ClientModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Inference;
using Sprint.Pipeline.Evaluation;
using Sprint.Problems;
using Sprint.Tests.Shared;
using Xunit.Abstractions;

namespace Sprint.Services.Tests;

/// <summary>
/// Verify while decoding, end to end: a Solve under rejection stops each candidate at its first failed written step and
/// starts the plan's next in its place; the evaluator's replay (<see cref="RejectionReplay"/> on candidates decoded to
/// their end) takes the same decisions; every survivor's text is the one its seed gives without rejection; the OpenAI
/// route never returns a stopped candidate; the Verifier's Watch and the generator's SteerGroup keep their contracts.
/// </summary>
[Collection(SuiteCollection.Name)]
public sealed class RejectionTests(SuiteFixture suite, ITestOutputHelper output)
{
    /// <summary>Three steps the shipped model slips on at step 2 in most samples (seed 1: all four first candidates).</summary>
    internal const string Question = "Liam has 14 marbles. Liam buys 6 bags of 7 marbles each. Then Liam gives away 9 marbles. How many marbles does Liam have now?";
    const int N = 4, MaxTokens = 48;
    const ulong Seed = 1;

    static SolveRequest Request(RejectionMode mode, int n = N) => new()
    {
        Question = Question, N = n, Strategy = Strategy.Sampling, MaxNewTokens = MaxTokens, Seed = Seed,
        Rejection = new RejectionParameters { Mode = mode },
    };

    [Fact(Timeout = 300_000)]
    public async Task A_replace_solve_stops_at_the_failed_line_replaces_from_the_plan_and_the_evaluator_replays_it_exactly()
    {
        var events = await Rpc.Solve(suite.Gateway, Request(RejectionMode.Replace));
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(RejectionMode.Replace, plan.Rejection.Mode);
        Assert.Equal(2 * N, plan.Rejection.MaxCandidates);
        Assert.Equal(Enumerable.Range(N, N), plan.Replacements.Select(c => c.Index));
        var stops = events.Where(e => e.Stop is not null).Select(e => e.Stop).ToList();
        Assert.NotEmpty(stops);
        Assert.All(stops, s => Assert.True(s.HasReplacement, $"candidate {s.Index} was not replaced"));

        // The same plan for 2n without rejection: every candidate to its end, the same seeds.
        var full = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, Request(RejectionMode.None, 2 * N)));
        var byIndex = full.Results.ToDictionary(r => r.Index);
        foreach (var r in results)
        {
            if (r.FinishReason == FinishReason.Rejected)
            {
                // Stopped: its text is the full candidate's up to the failed line, its tokens at least those to the stop.
                var stop = stops.Single(s => s.Index == r.Index);
                Assert.StartsWith(r.Text, byIndex[r.Index].Text);
                Assert.EndsWith("\n", r.Text);
                Assert.InRange(r.Tokens, stop.AtToken, byIndex[r.Index].Tokens);
                Assert.Contains(stop.Failure.Text, r.Text);
                Assert.DoesNotContain(r.Index, verdict.Votes.SelectMany(v => v.Candidates));
            }
            else Assert.Equal(byIndex[r.Index].Text, r.Text);   // a survivor decodes exactly what its seed gives: the stops did not touch it
        }
        Assert.Equal(stops.Select(s => s.Index).Order(), verdict.StoppedCandidates);
        // The stops reach the generator: a stopped candidate decodes a few tokens past its line (while the stop travels),
        // not to its end (each of these would run 10 tokens or more past its stop).
        Assert.Contains(results, r => r.FinishReason == FinishReason.Rejected && r.Tokens < byIndex[r.Index].Tokens);
        output.WriteLine($"stop lag (tokens decoded while a stop travelled): {string.Join(", ", stops.Select(s => results.Single(r => r.Index == s.Index).Tokens - s.AtToken))}");

        // The evaluator: the same plan decoded to the end in process, replayed under the same policy.
        using var lm = LanguageModel.Load(Paths.Model);
        var evaluator = new BestOfNEvaluator(lm, null, new BestOfNSettings
        {
            Strategies = [Core.Strategy.Sampling], MaxN = 2 * N, Seed = Seed, Decoding = new EvalSettings { MaxNewTokens = MaxTokens },
        }, TextWriter.Null);
        var problem = new Problem("q", Question, "", null, "test");
        var decoded = (await evaluator.RunAsync([problem], CancellationToken.None)).Single();
        Assert.Equal(full.Results.OrderBy(r => r.Index).Select(r => r.Text), decoded.Candidates.Select(c => c.Text));
        var replay = BestOfNReport.Replay(decoded, N, RejectionPolicy.Default, null);
        Assert.Equal(replay.Started.Order(), results.Select(r => r.Index).Order());
        Assert.Equal(replay.Decisions.Values.Where(d => d.Stopped).OrderBy(d => d.Index).Select(d => (d.Index, d.AtToken, d.Replacement)),
            stops.OrderBy(s => s.Index).Select(s => (s.Index, s.AtToken, s.HasReplacement ? s.Replacement : (int?)null)));
        var replayed = MajorityVote.Winner(replay.Finished.Select(i => decoded.Candidates[i]), Sprint.Answers.Aggregation.VerifiedMajority);
        Assert.Equal(verdict.Answer, replayed?.Answer is { } a ? AnswerNormalizer.Normalize(a) : "");
        // Token counts: the replay's are the gateway's less the tokens decoded while each stop travelled.
        Assert.Equal(replay.GeneratedTokens, results.Sum(r => r.FinishReason == FinishReason.Rejected ? stops.Single(s => s.Index == r.Index).AtToken : r.Tokens));
    }

    [Fact(Timeout = 300_000)]
    public async Task The_replacement_reserve_is_cut_to_the_selectors_configurations()
    {
        // n = 20 SPRINT: 2n = 40 replacements' worth of plan, but the selector ranks 33 configurations.
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Question, N = 20, Strategy = Strategy.Sprint, MaxNewTokens = 8, Seed = Seed });
        var (plan, _, _) = Rpc.AssertWellFormed(events);
        var configurations = (await suite.Selector.SelectorInfoAsync(new SelectorInfoRequest())).Configurations.Count;
        Assert.Equal(configurations, plan.Rejection.MaxCandidates);
        Assert.Equal(configurations - 20, plan.Replacements.Count);
    }

    [Fact(Timeout = 300_000)]
    public async Task When_everyone_fails_at_once_stop_keeps_them_all_and_stop_everyone_leaves_nothing_to_vote()
    {
        // Seed 1: all four candidates write a failed step 2 at the same token, so at that moment none of them is free of
        // a failed step. Stop (keep-last) keeps them all, and they vote; with no replacement to start, nobody is stopped.
        var stop = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, Request(RejectionMode.Stop)));
        Assert.Empty(stop.Plan.Replacements);
        Assert.Equal(Enumerable.Range(0, N), stop.Results.Select(r => r.Index).Order());
        Assert.Empty(stop.Verdict.StoppedCandidates);
        Assert.NotEqual("", stop.Verdict.Answer);
        Assert.Contains("every candidate with an answer has a failed step", stop.Verdict.Rule);
        // Stop-all: every one is stopped at its failed line; nothing is left to vote, and the tokens are the fewest.
        var request = Request(RejectionMode.Stop);
        request.Rejection.EveryoneFails = EveryoneFailsRule.StopAll;
        var all = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        Assert.Equal(Enumerable.Range(0, N), all.Verdict.StoppedCandidates);
        Assert.Equal("", all.Verdict.Answer);
        var none = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, Request(RejectionMode.None)));
        Assert.Empty(none.Verdict.StoppedCandidates);
        Assert.Equal(none.Verdict.Answer, stop.Verdict.Answer);   // kept to their end: the same vote as without rejection
        Assert.True(all.Verdict.GeneratedTokens < none.Verdict.GeneratedTokens, $"stop-all generated {all.Verdict.GeneratedTokens} tokens, none {none.Verdict.GeneratedTokens}");
    }

    [Fact(Timeout = 300_000)]
    public async Task Through_the_openai_sdk_a_stopped_candidate_is_never_a_choice_and_usage_counts_what_ran()
    {
        var client = new OpenAI.Chat.ChatClient("sprint-tiny-math", new ApiKeyCredential("none"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri(suite.WebAddress + "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
        });
        var body = new JsonObject
        {
            ["model"] = "sprint-tiny-math", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Question }),
            ["n"] = N, ["best_of"] = N, ["seed"] = Seed, ["max_tokens"] = MaxTokens, ["strategy"] = "sampling", ["rejection"] = "replace",
        };
        var result = await client.CompleteChatAsync(BinaryContent.Create(BinaryData.FromString(body.ToJsonString())));
        var completion = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var candidates = completion["sprint"]!["candidates"]!.AsArray();
        var stopped = candidates.Where(c => c!["finish_reason"]!.GetValue<string>() == "FINISH_REASON_REJECTED").Select(c => c!["index"]!.GetValue<int>()).ToHashSet();
        Assert.NotEmpty(stopped);
        var chosen = completion["sprint"]!["choice_candidates"]!.AsArray().Select(c => c!.GetValue<int>()).ToList();
        Assert.NotEmpty(chosen);
        Assert.DoesNotContain(chosen, stopped.Contains);
        Assert.Equal(candidates.Count - stopped.Count, chosen.Count);   // n = best_of: every candidate that ran to its end, none stopped
        Assert.Equal(candidates.Sum(c => c!["tokens"]!.GetValue<int>()), completion["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(completion["sprint"]!["verdict"]!["stopped_candidates"]!.AsArray().Select(i => i!.GetValue<int>()).Order(), stopped.Order());
        // An unknown policy is refused by name, as OpenAI refuses a bad parameter.
        body["rejection"] = "discard";
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(BinaryContent.Create(BinaryData.FromString(body.ToJsonString()))));
        Assert.Equal(400, refused.Status);
        Assert.Equal("rejection", JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!["param"]!.GetValue<string>());
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_page_shows_stopped_candidates_their_replacements_and_controls_that_fit_their_labels()
    {
        var web = Path.Combine(Paths.Root, "web");
        Skip.If(!Directory.Exists(Path.Combine(web, "node_modules", "puppeteer-core")), $"run 'npm ci' in {web} first (.ci/run does)");
        Skip.If(!File.Exists("/usr/bin/chromium"), "Chromium is not installed (Debian: apt-get install chromium; .ci/run does)");
        var grpc = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, Request(RejectionMode.Replace)));
        int webPort = SuiteFixture.FreePort();
        using var serve = await ServiceProcess.StartService("Sprint.Cli", "sprint", "serve", $"--web-port={webPort}", "--Generator:Threads=1", "--Embedding:Threads=1");
        var shown = JsonNode.Parse(await Tool.Run("node", [Path.Combine("test", "rejection-page.mjs"), $"http://127.0.0.1:{webPort}/", "/usr/bin/chromium", Question, Seed.ToString()], web))!;
        output.WriteLine(shown.ToJsonString());
        Assert.Empty(shown["fits"]!["phone"]!.AsArray());
        Assert.Empty(shown["fits"]!["desktop"]!.AsArray());
        var panes = shown["panes"]!.AsArray();
        Assert.Equal(grpc.Results.Select(r => $"candidate-{r.Index}").Order(), panes.Select(p => p!["id"]!.GetValue<string>()).Order());   // replacements get panes
        Assert.Equal(grpc.Verdict.StoppedCandidates.Select(i => $"candidate-{i}"), panes.Where(p => p!["state"]!.GetValue<string>() == "stopped").Select(p => p!["id"]!.GetValue<string>()).Order());
        Assert.All(shown["stops"]!.AsArray(), s => Assert.Matches(@"^stopped at token \d+: step \d+ .+ \(is .+\) · #\d+ starts in its place$", s!.GetValue<string>()));
        Assert.All(shown["stoppedAnswers"]!.AsArray(), a => Assert.StartsWith("stopped · excluded", a!.GetValue<string>()));
        Assert.StartsWith("A candidate whose written step fails is stopped there and a fresh one starts in its place (up to 8", shown["rejection"]!.GetValue<string>());
        Assert.Contains($"stopped at a failed step: {string.Join(", ", grpc.Verdict.StoppedCandidates)}", shown["verdict"]!.GetValue<string>());
        Assert.EndsWith("tokens generated", shown["tokens"]!.GetValue<string>());
    }

    // ---- the Verifier's Watch ----

    VerifierService.VerifierServiceClient Verifier => new(suite.Channel);

    /// <summary>Sends <paramref name="messages"/>, closes, and reads every answer.</summary>
    async Task<List<WatchResponse>> Watch(params WatchRequest[] messages)
    {
        using var call = Verifier.Watch(deadline: DateTime.UtcNow.AddSeconds(60));
        var reading = Task.Run(async () =>
        {
            var answers = new List<WatchResponse>();
            await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);
            return answers;
        });
        try
        {
            foreach (var m in messages) await call.RequestStream.WriteAsync(m);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException) { }   // refused mid-stream: the reader says why
        catch (InvalidOperationException) { }
        return await reading;
    }

    static WatchRequest Open(string question = Question) => new() { Open = new WatchOpen { Question = question, SkipScores = true } };
    static WatchRequest Text(int index, string text) => new() { Text = new CandidateText { Index = index, Text = text } };
    static WatchRequest End(int index) => new() { End = new WatchCandidate { Index = index } };

    [Fact(Timeout = 120_000)]
    public async Task Watch_answers_every_piece_that_ends_a_line_names_the_first_failure_there_and_ends_as_check()
    {
        const string good = "6 * 7 = 42\n14 + 42 = 56\n56 - 9 = 47\n\\boxed{47}", bad = "6 * 7 = 42\n14 + 42 = 55\n55 - 9 = 46\n\\boxed{46}";
        var answers = await Watch(Open(), Text(0, "6 * 7 = 4"), Text(1, "6 * 7 = 42\n"), Text(0, "2\n14 + 42 = 56\n"), Text(1, "14 + 42 = 5"),
            Text(1, "5\n55 - 9 = 46\n"), Text(0, "56 - 9 = 47\n\\boxed{47}"), Text(1, "\\boxed{46}"), End(0), End(1));
        // One answer per piece with a newline, in order, per candidate: 0 → progress, progress; 1 → progress, failure.
        Assert.Equal([WatchResponse.EventOneofCase.Progress, WatchResponse.EventOneofCase.Progress, WatchResponse.EventOneofCase.Result],
            answers.Where(a => a.Index == 0).Select(a => a.EventCase));
        Assert.Equal([WatchResponse.EventOneofCase.Progress, WatchResponse.EventOneofCase.Failure, WatchResponse.EventOneofCase.Result],
            answers.Where(a => a.Index == 1).Select(a => a.EventCase));
        var failure = answers.Single(a => a.Failure is not null).Failure;
        Assert.Equal((2, "14 + 42 = 55", "55", "56"), (failure.Step, failure.Text, failure.Written, failure.Computed));
        Assert.Equal(3, answers.Where(a => a.Index == 0 && a.Progress is not null).Last().Progress.Lines);
        // The end's result is exactly Check's on the whole text.
        var check = await Verifier.CheckAsync(new CheckRequest { Question = Question, SkipScores = true, Candidates = { new CheckCandidate { Index = 0, Text = good }, new CheckCandidate { Index = 1, Text = bad } } });
        Assert.Equal(check.Results.OrderBy(r => r.Index), answers.Where(a => a.Result is not null).Select(a => a.Result).OrderBy(r => r.Index));
        // A restart voids the text so far: the failure is not remembered.
        var restarted = await Watch(Open(), Text(2, "1 + 1 = 3\n"), new WatchRequest { Restart = new WatchCandidate { Index = 2 } }, Text(2, "1 + 1 = 2\n"), End(2));
        Assert.Equal(0, restarted.Single(a => a.Result is not null).Result.FailedSteps);
    }

    public static IEnumerable<object[]> BadWatches()
    {
        yield return [new[] { Text(0, "x") }, "open"];
        yield return [new[] { Open(" "), Text(0, "x") }, "open.question"];
        yield return [new[] { Open(), Open() }, "open"];
        yield return [new[] { Open(), Text(-1, "x") }, "text.index"];
        yield return [new[] { Open(), End(3) }, "end.index"];
        yield return [new[] { Open(), new WatchRequest { Restart = new WatchCandidate { Index = 4 } } }, "restart.index"];
        yield return [new[] { Open(), Text(0, "1 + 1 = 2\n"), End(0), Text(0, "more") }, "text.index"];
        yield return [new[] { Open(), new WatchRequest() }, "event"];
        // 10,000 candidates: refused at the 65th.
        yield return [new[] { Open() }.Concat(Enumerable.Range(0, 10_000).Select(i => Text(i, "1"))).ToArray(), "text.index"];
        // 1 MB for one candidate, in 16 KiB pieces: refused once past 64 KiB, a line that never ends included.
        yield return [new[] { Open() }.Concat(Enumerable.Repeat(Text(0, new string('7', 16 * 1024)), 64)).ToArray(), "text.text"];
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(BadWatches))]
    public async Task Bad_watch_messages_are_refused_naming_the_field(WatchRequest[] messages, string field)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Watch(messages));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(field, e.Trailers.GetValue(Sprint.ServiceDefaults.ErrorInterceptor.FieldTrailer));
    }

    [Fact(Timeout = 120_000)]
    public async Task Latex_built_to_cost_is_checked_within_bounds()
    {
        // 64 KiB of huge binomials, roots and powers on one line, in pieces, then the end: answered in bounded time.
        var costly = string.Concat(Enumerable.Repeat(@"\binom{1000}{500} + \sqrt{99999999999999999999} + 9^{99999} = 1 ", 1100))[..(60 * 1024)] + "\n";
        var clock = Stopwatch.StartNew();
        var answers = await Watch([Open(), .. costly.Chunk(4096).Select(c => Text(0, new string(c))), End(0)]);
        output.WriteLine($"64 KiB of costly LaTeX: {clock.ElapsedMilliseconds} ms");
        Assert.Single(answers, a => a.Result is not null);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{clock.Elapsed}");
    }

    // ---- the generator's SteerGroup ----

    static GroupCandidate Member(int index, ulong seed) => new() { Index = index, Sampling = new SamplingParameters { Temperature = 0.7f, Seed = seed } };

    static GenerateGroupRequest Group(params GroupCandidate[] members)
    {
        var r = new GenerateGroupRequest { Prompt = Question, Stopping = new StoppingParameters { MaxNewTokens = MaxTokens } };
        r.Candidates.AddRange(members);
        return r;
    }

    [Fact(Timeout = 120_000)]
    public async Task SteerGroup_stops_one_candidate_adds_another_and_leaves_the_rest_as_their_seeds_give_them()
    {
        var plain = await Rpc.ReadAll(suite.Generator.GenerateGroup(Group(Member(0, 11), Member(1, 12), Member(2, 13))));
        var expected = plain.Where(e => e.Result is not null).ToDictionary(e => e.Index, e => e.Result.Text);
        var added = (await Rpc.ReadAll(suite.Generator.GenerateGroup(Group(Member(5, 15))))).Single(e => e.Result is not null).Result.Text;

        using var call = suite.Generator.SteerGroup(deadline: DateTime.UtcNow.AddSeconds(60));
        await call.RequestStream.WriteAsync(new SteerGroupRequest { Start = Group(Member(0, 11), Member(1, 12), Member(2, 13)) });
        var results = new Dictionary<int, GenerationResult>();
        bool steered = false;
        await foreach (var m in call.ResponseStream.ReadAllAsync())
        {
            if (m.Event.Result is { } r) results[m.Event.Index] = r;
            if (!steered && m.Event.Delta is not null)
            {
                steered = true;
                await call.RequestStream.WriteAsync(new SteerGroupRequest { Stop = new StopCandidate { Index = 1 } });
                await call.RequestStream.WriteAsync(new SteerGroupRequest { Add = Member(5, 15) });
                await call.RequestStream.CompleteAsync();
            }
        }
        Assert.Equal([0, 1, 2, 5], results.Keys.Order());
        Assert.Equal(FinishReason.Cancelled, results[1].FinishReason);
        Assert.True(results[1].TokenIds.Count < MaxTokens);
        Assert.StartsWith(results[1].Text, expected[1]);
        Assert.Equal(expected[0], results[0].Text);
        Assert.Equal(expected[2], results[2].Text);
        Assert.Equal(added, results[5].Text);   // the added candidate: what its seed gives, with the group's prompt
        await Rpc.AssertBatchDrains(suite);
    }

    public static IEnumerable<object[]> BadSteers()
    {
        yield return [new[] { new SteerGroupRequest { Stop = new StopCandidate { Index = 0 } } }, "start"];
        yield return [new[] { new SteerGroupRequest { Start = Group(Member(0, 1)) }, new SteerGroupRequest { Start = Group(Member(1, 1)) } }, "start"];
        yield return [new[] { new SteerGroupRequest { Start = Group(Member(0, 1)) }, new SteerGroupRequest { Add = Member(0, 2) } }, "add.index"];
        yield return [new[] { new SteerGroupRequest { Start = Group(Member(0, 1)) }, new SteerGroupRequest { Add = new GroupCandidate { Index = 3, Sampling = new SamplingParameters { Temperature = -1 } } } }, "add.sampling.temperature"];
        yield return [new[] { new SteerGroupRequest { Start = Group(Member(0, 1)) }, new SteerGroupRequest() }, "event"];
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(BadSteers))]
    public async Task Bad_steer_messages_are_refused_naming_the_field(SteerGroupRequest[] messages, string field)
    {
        using var call = suite.Generator.SteerGroup(deadline: DateTime.UtcNow.AddSeconds(60));
        try
        {
            foreach (var m in messages) await call.RequestStream.WriteAsync(m);
        }
        catch (RpcException) { }
        var e = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call.ResponseStream.ReadAllAsync()) { } });
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(field, e.Trailers.GetValue(Sprint.ServiceDefaults.ErrorInterceptor.FieldTrailer));
        await Rpc.AssertBatchDrains(suite);
    }
}
