using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Verifier;

/// <summary>
/// Watch: the step check of candidates while they are written. Each candidate's text goes through a
/// <see cref="StepReader"/> as it arrives; every piece that holds a newline is answered once, in order — its
/// candidate's first failed step when a line it completed holds it, else the progress so far — so the caller knows,
/// piece by piece, how far each candidate is checked. At a candidate's end its full check (and score) is exactly
/// Check's (<see cref="CandidateVerifier.CheckAsync"/> on the whole text), answered when ready while the other
/// candidates' pieces go on being answered. Check's limits hold per stream: the question, the number of candidates,
/// each candidate's text in all (UTF-8 bytes, the void text of a restart included) — so a stream holds at most
/// MaxCandidates × MaxTextBytes of text, and a line that never ends is cut off by the text limit.
/// </summary>
public sealed class CandidateWatch(CandidateVerifier verifier)
{
    sealed class Watched
    {
        public StepReader Reader = new();
        public readonly StringBuilder Text = new();
        public long Bytes;
        public bool Ended;
    }

    public async IAsyncEnumerable<WatchResponse> WatchAsync(IAsyncStreamReader<WatchRequest> requests, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (!await requests.MoveNext(ct).ConfigureAwait(false)) yield break;   // nothing asked
        if (requests.Current.Open is not { } open) throw new InvalidFieldException("open", "the first message must open the stream");
        var question = verifier.Question(open.Question, "open.question");
        var options = verifier.Options;
        var watched = new Dictionary<int, Watched>();

        async Task Run(ChannelWriter<WatchResponse> outbox)
        {
            var results = new List<Task>();
            for (int m = 1; await requests.MoveNext(ct).ConfigureAwait(false); m++)
            {
                var message = requests.Current;
                switch (message.EventCase)
                {
                    case WatchRequest.EventOneofCase.Text:
                        {
                            int index = message.Text.Index;
                            if (index < 0) throw new InvalidFieldException("text.index", $"must be >= 0, got {index}");
                            if (!watched.TryGetValue(index, out var w))
                            {
                                if (watched.Count >= options.MaxCandidates)
                                    throw new InvalidFieldException("text.index", $"candidate {index} would exceed the limit of {options.MaxCandidates} candidates per stream");
                                watched[index] = w = new Watched();
                            }
                            if (w.Ended) throw new InvalidFieldException("text.index", $"candidate {index} has ended");
                            var piece = message.Text.Text;
                            w.Bytes += Encoding.UTF8.GetByteCount(piece);
                            if (w.Bytes > options.MaxTextBytes)
                                throw new InvalidFieldException("text.text", $"candidate {index}'s text exceeds the limit of {options.MaxTextBytes} bytes");
                            w.Text.Append(piece);
                            var failure = w.Reader.Append(piece);
                            if (piece.Contains('\n'))
                                await outbox.WriteAsync(failure is not null
                                    ? new WatchResponse { Index = index, Failure = failure.ToProto() }
                                    : new WatchResponse { Index = index, Progress = Progress(w) }, ct).ConfigureAwait(false);
                            break;
                        }
                    case WatchRequest.EventOneofCase.Restart:
                        {
                            var w = Started(watched, message.Restart.Index, "restart.index");
                            w.Reader = new StepReader();
                            w.Text.Clear();
                            break;
                        }
                    case WatchRequest.EventOneofCase.End:
                        {
                            int index = message.End.Index;
                            var w = Started(watched, index, "end.index");
                            w.Ended = true;
                            var text = w.Text.ToString();
                            w.Text.Clear();
                            w.Reader.Finish();
                            results.Add(Result(outbox, index, text, open.SkipScores));
                            break;
                        }
                    case WatchRequest.EventOneofCase.Open:
                        throw new InvalidFieldException("open", "the stream is open already");
                    default:
                        throw new InvalidFieldException("event", $"message {m} holds nothing");
                }
            }
            await Task.WhenAll(results).ConfigureAwait(false);
        }

        async Task Result(ChannelWriter<WatchResponse> outbox, int index, string text, bool skipScores)
        {
            CheckResult result;
            if (text.Length == 0) result = StepCheck.None.ToProto(index);   // nothing written: nothing to check or score
            else
            {
                var response = await verifier.CheckAsync(new CheckRequest { Question = question, SkipScores = skipScores, Candidates = { new CheckCandidate { Index = index, Text = text } } }, ct).ConfigureAwait(false);
                result = response.Results[0];
            }
            await outbox.WriteAsync(new WatchResponse { Index = index, Result = result }, ct).ConfigureAwait(false);
        }

        await foreach (var response in FanIn.Merge<WatchResponse>(Run, ct).ConfigureAwait(false)) yield return response;
    }

    static Watched Started(Dictionary<int, Watched> watched, int index, string field)
    {
        if (!watched.TryGetValue(index, out var w)) throw new InvalidFieldException(field, $"candidate {index} never started (no text was sent for it)");
        if (w.Ended) throw new InvalidFieldException(field, $"candidate {index} has ended");
        return w;
    }

    static StepProgress Progress(Watched w)
    {
        var check = w.Reader.Current;
        return new StepProgress { Lines = w.Reader.Lines, CheckedSteps = check.CheckedSteps, FailedSteps = check.FailedSteps };
    }
}
