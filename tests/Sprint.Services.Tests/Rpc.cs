using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;
using Sprint.Generator;

namespace Sprint.Services.Tests;

static class Rpc
{
    public const string Question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?";

    public static async Task AssertInvalid(Func<Task> call, string field)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(field + ":", e.Status.Detail);
    }

    public static async Task<List<T>> ReadAll<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            var list = new List<T>();
            await foreach (var item in call.ResponseStream.ReadAllAsync()) list.Add(item);
            return list;
        }
    }

    public static Task<List<SolveResponse>> Solve(GatewayService.GatewayServiceClient client, SolveRequest request, DateTime? deadline = null) =>
        ReadAll(client.Solve(request, deadline: deadline ?? DateTime.UtcNow.AddMinutes(2)));

    /// <summary>Every candidate runs to its end (for tests of what a Solve does without rejection).</summary>
    public static RejectionParameters NoRejection => new() { Mode = RejectionMode.None };

    /// <summary>
    /// Checks a Solve stream's shape: plan first, verdict last, every delta and result tagged with a planned candidate
    /// (or a replacement the plan lists, started by a stop event before its first delta); a stopped candidate's result
    /// is FINISH_REASON_REJECTED with its text up to the failed line (a prefix of what streamed), no answer, and it is
    /// listed in the verdict as stopped; every candidate started has exactly one result.
    /// </summary>
    public static (Plan Plan, List<CandidateResult> Results, Verdict Verdict) AssertWellFormed(List<SolveResponse> events)
    {
        Assert.Equal(SolveResponse.EventOneofCase.Plan, events[0].EventCase);
        Assert.Equal(SolveResponse.EventOneofCase.Verdict, events[^1].EventCase);
        var plan = events[0].Plan;
        var planned = plan.Candidates.Concat(plan.Replacements).ToDictionary(c => c.Index);
        var started = plan.Candidates.Select(c => c.Index).ToHashSet();
        var texts = planned.Keys.ToDictionary(i => i, _ => new System.Text.StringBuilder());
        var results = new List<CandidateResult>();
        var checks = new List<int>();
        var stopped = new HashSet<int>();
        foreach (var e in events.Skip(1).SkipLast(1))
        {
            if (e.EventCase == SolveResponse.EventOneofCase.Delta)
            {
                Assert.Contains(e.Delta.Index, started);
                Assert.Equal(planned[e.Delta.Index].Configuration.Name, e.Delta.Configuration);
                Assert.DoesNotContain(results, r => r.Index == e.Delta.Index);   // no delta after a candidate's result
                Assert.DoesNotContain(e.Delta.Index, stopped);                   // nor after its stop
                texts[e.Delta.Index].Append(e.Delta.Text);
            }
            else if (e.EventCase == SolveResponse.EventOneofCase.Restart)
            {
                Assert.DoesNotContain(results, r => r.Index == e.Restart.Index);   // only an unfinished candidate starts over
                texts[e.Restart.Index].Clear();
            }
            else if (e.EventCase == SolveResponse.EventOneofCase.Check)
            {
                Assert.Contains(results, r => r.Index == e.Check.Index && r.Text.Length > 0);   // a finished candidate's check, after its result
                checks.Add(e.Check.Index);
            }
            else if (e.EventCase == SolveResponse.EventOneofCase.Stop)
            {
                Assert.Contains(e.Stop.Index, started);
                Assert.True(stopped.Add(e.Stop.Index), $"candidate {e.Stop.Index} stopped twice");
                Assert.NotNull(e.Stop.Failure);
                if (e.Stop.HasReplacement)
                {
                    Assert.Contains(plan.Replacements, c => c.Index == e.Stop.Replacement);
                    Assert.True(started.Add(e.Stop.Replacement), $"replacement {e.Stop.Replacement} started twice");
                }
            }
            else
            {
                Assert.Equal(SolveResponse.EventOneofCase.Candidate, e.EventCase);
                Assert.Contains(e.Candidate.Index, started);
                Assert.Equal(planned[e.Candidate.Index].Configuration.Name, e.Candidate.Configuration);
                // A candidate whose stop was decided after it ended gets a second result, as stopped.
                if (e.Candidate.FinishReason == FinishReason.Rejected) results.RemoveAll(r => r.Index == e.Candidate.Index);
                results.Add(e.Candidate);
            }
        }
        var verdict = events[^1].Verdict;
        Assert.Equal(started.Except(verdict.UnneededCandidates).Order(), results.Select(r => r.Index).Order());
        Assert.Equal(stopped.Order(), verdict.StoppedCandidates);
        Assert.Equal(results.Sum(r => r.Tokens), verdict.GeneratedTokens);
        Assert.Equal(checks.Count, checks.Distinct().Count());   // each candidate checked once
        foreach (var r in results.Where(r => r.Error.Length == 0))
        {
            if (r.FinishReason == FinishReason.Rejected)
            {
                Assert.Contains(r.Index, stopped);
                Assert.Equal("", r.Answer);
                Assert.StartsWith(r.Text, texts[r.Index].ToString());
            }
            else Assert.Equal(r.Text, texts[r.Index].ToString());
        }
        return (plan, results, events[^1].Verdict);
    }

    /// <summary>
    /// The majority answer recomputed from the candidates that vote (all but the verdict's excluded ones),
    /// independently of the gateway's code.
    /// </summary>
    public static void AssertVerdictIsMajority(List<CandidateResult> results, Verdict verdict)
    {
        var counts = results.Where(r => r.Error.Length == 0 && r.Answer.Length > 0 && !verdict.ExcludedCandidates.Contains(r.Index))
            .GroupBy(r => Sprint.Answers.AnswerNormalizer.Normalize(r.Answer)).ToDictionary(g => g.Key, g => g.Count());
        if (counts.Count == 0) { Assert.Equal("", verdict.Answer); return; }
        Assert.Equal(counts.Values.Max(), counts[verdict.Answer]);
        Assert.Equal(counts.Values.Sum(), verdict.Votes.Sum(v => v.Votes));
        Assert.Contains(verdict.ChosenCandidate, verdict.Votes[0].Candidates);
    }

    /// <summary>No sequence stays in the batch or the queue once its caller is gone.</summary>
    public static async Task AssertBatchDrains(SuiteFixture suite)
    {
        var engine = suite.App.Services.GetRequiredService<GeneratorEngine>().Scheduler!;
        for (int i = 0; i < 100 && engine.Stats.ActiveSequences + engine.Stats.QueuedSequences > 0; i++) await Task.Delay(20);
        Assert.Equal(0, engine.Stats.ActiveSequences + engine.Stats.QueuedSequences);
    }

}
