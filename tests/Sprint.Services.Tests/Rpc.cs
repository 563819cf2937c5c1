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

    /// <summary>Checks a Solve stream's shape: plan first, verdict last, every delta and result tagged with a planned candidate.</summary>
    public static (Plan Plan, List<CandidateResult> Results, Verdict Verdict) AssertWellFormed(List<SolveResponse> events)
    {
        Assert.Equal(SolveResponse.EventOneofCase.Plan, events[0].EventCase);
        Assert.Equal(SolveResponse.EventOneofCase.Verdict, events[^1].EventCase);
        var plan = events[0].Plan;
        var texts = plan.Candidates.ToDictionary(c => c.Index, _ => new System.Text.StringBuilder());
        var results = new List<CandidateResult>();
        var checks = new List<int>();
        foreach (var e in events.Skip(1).SkipLast(1))
        {
            if (e.EventCase == SolveResponse.EventOneofCase.Delta)
            {
                Assert.Equal(plan.Candidates[e.Delta.Index].Configuration.Name, e.Delta.Configuration);
                Assert.DoesNotContain(results, r => r.Index == e.Delta.Index);   // no delta after a candidate's result
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
            else
            {
                Assert.Equal(SolveResponse.EventOneofCase.Candidate, e.EventCase);
                Assert.Equal(plan.Candidates[e.Candidate.Index].Configuration.Name, e.Candidate.Configuration);
                results.Add(e.Candidate);
            }
        }
        var verdict = events[^1].Verdict;
        Assert.Equal(plan.Candidates.Select(c => c.Index).Except(verdict.UnneededCandidates).Order(), results.Select(r => r.Index).Order());
        Assert.Equal(checks.Count, checks.Distinct().Count());   // each candidate checked once
        foreach (var r in results.Where(r => r.Error.Length == 0)) Assert.Equal(r.Text, texts[r.Index].ToString());
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
