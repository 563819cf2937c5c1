using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Gateway;

/// <summary>
/// One Solve's calls to the Verifier: each candidate is checked as soon as it finishes, while the others decode; its
/// check (and the learned verifier's score, when the Verifier has one) is streamed as a <c>check</c> event and kept for the vote. A check that fails or takes longer than
/// <see cref="GatewayOptions.VerifierTimeout"/> makes <see cref="Failure"/> say why (the first reason), and the
/// Solve then votes by plain majority; a Verifier that is down never loses a Solve.
/// </summary>
/// <param name="wantScores">Whether the Solve's rule reads the learned verifier's scores; if not, the Verifier is told to skip them (no model work).</param>
public sealed class CandidateChecks(VerifierService.VerifierServiceClient verifier, string question, bool wantScores, TimeSpan timeout, DateTime deadline,
    ChannelWriter<SolveResponse> events, CancellationToken ct)
{
    readonly ConcurrentDictionary<int, StepCheck> checks = new();
    readonly ConcurrentDictionary<int, double> scores = new();
    readonly ConcurrentBag<Task> pending = [];
    string? failure;

    /// <summary>Why some candidate could not be checked; null while every check came back.</summary>
    public string? Failure => failure;

    /// <summary>The check of a candidate; null when it was not checked (failed, empty, or the Verifier did not answer).</summary>
    public StepCheck? Of(int index) => checks.TryGetValue(index, out var c) ? c : null;

    /// <summary>The learned verifier's score of a candidate; null when the Verifier gave none.</summary>
    public double? ScoreOf(int index) => scores.TryGetValue(index, out var s) ? s : null;

    /// <summary>Starts checking a finished candidate (one without text has nothing to check and no answer to vote).</summary>
    public void Start(CandidateResult result)
    {
        if (result.Text.Length == 0) return;
        pending.Add(CheckAsync(result.Index, result.Text));
    }

    /// <summary>A check that came from elsewhere (the Verifier's Watch, at a candidate's end): kept and streamed as Check's.</summary>
    public void Record(CheckResult result)
    {
        if (result.HasScore && result.Score is >= 0 and <= 1) scores[result.Index] = result.Score;
        checks[result.Index] = result.ToCore();
        events.TryWrite(new SolveResponse { Check = result });
    }

    /// <summary>Some candidate could not be checked (the first reason is kept): the Solve votes by plain majority.</summary>
    public void Fail(string why) => Interlocked.CompareExchange(ref failure, why, null);

    /// <summary>Every check started so far has come back or failed.</summary>
    public Task WhenAll() => Task.WhenAll(pending);

    async Task CheckAsync(int index, string text)
    {
        var request = new CheckRequest { Question = question, Candidates = { new CheckCandidate { Index = index, Text = text } }, SkipScores = !wantScores };
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        try
        {
            var limit = DateTime.UtcNow + timeout;
            var response = await verifier.CheckAsync(request, deadline: limit < deadline ? limit : deadline, cancellationToken: timer.Token).ConfigureAwait(false);
            if (response.Results is not [var result]) throw new RpcException(new Status(StatusCode.Internal, $"the verifier answered {response.Results.Count} results for one candidate"));
            if (result.HasScore)
            {
                if (!(result.Score >= 0 && result.Score <= 1)) throw new RpcException(new Status(StatusCode.Internal, $"the verifier answered score {result.Score}, outside [0, 1]"));
                scores[index] = result.Score;
            }
            checks[index] = result.ToCore();
            events.TryWrite(new SolveResponse { Check = result });
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            string why = timer.IsCancellationRequested || e is RpcException { StatusCode: StatusCode.DeadlineExceeded }
                ? $"no answer within {timeout.TotalSeconds:0.###} s"
                : e is RpcException { Status.DebugException: not null } r ? $"{r.StatusCode}: the Verifier could not be reached"   // no internal host to callers
                : e is RpcException r2 ? $"{r2.StatusCode}: {Quote.Short(r2.Status.Detail)}" : $"the call failed ({e.GetType().Name})";   // no exception text to callers
            Interlocked.CompareExchange(ref failure, why, null);
        }
    }
}
