using System.Threading.Channels;
using Sprint.Inference.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Generation;

/// <summary>
/// One sequence between submission and its last event: its sampler's generator, its detokeniser and stop strings,
/// the tokens it has taken, and the channel its events stream through. The decode thread calls <see cref="Accept"/>
/// for every token; any thread may call <see cref="Finish"/> or <see cref="Fail"/> once it owns the sequence
/// (the first call wins).
/// </summary>
sealed class SequenceState
{
    readonly StreamingDetokenizer? detokenizer;
    readonly StopStringMatcher stops;
    int generated;
    volatile bool done;
    readonly long submitted = System.Diagnostics.Stopwatch.GetTimestamp();
    long scheduled, firstToken;

    public SequenceState(GenerationRequest request, HfTokenizer? tokenizer)
    {
        Request = request;
        detokenizer = tokenizer is null ? null : new StreamingDetokenizer(tokenizer);
        stops = new StopStringMatcher(request.Stopping.StopStrings);
        if (!request.Sampling.IsGreedy)
            Generator = new Generator(request.Sampling.Seed ?? (ulong)Random.Shared.NextInt64(), CPU);
        LastToken = request.PromptIds[^1];
    }

    public GenerationRequest Request { get; }
    /// <summary>The sampling generator; null for greedy sequences.</summary>
    public Generator? Generator { get; }
    public Channel<GenerationEvent> Events { get; } = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
    /// <summary>Its place in the admission queue while it waits; null once admitted.</summary>
    public LinkedListNode<SequenceState>? Node { get; set; }
    public CancellationTokenRegistration Registration { get; set; }
    /// <summary>The caller's stop for this sequence alone (it finishes as cancelled; its stream is read to the end).</summary>
    public CancellationTokenRegistration StopRegistration { get; set; }
    /// <summary>Set from any thread; the decode thread drops the row before its next step.</summary>
    public volatile bool CancelRequested;
    /// <summary>The token the next decode step feeds in.</summary>
    public int LastToken { get; private set; }
    public bool Done => done;
    public int Reservation => Request.Reservation;

    /// <summary>Called by the decode thread when the sequence's prompt pass begins.</summary>
    public void Scheduled() => scheduled = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Takes the token the sampler chose: streams it, or finishes at EOS, a stop string or the token limit.</summary>
    public void Accept(int token, float logProb, IReadOnlySet<int> eos)
    {
        LastToken = token;
        if (generated++ == 0) firstToken = System.Diagnostics.Stopwatch.GetTimestamp();
        var stopping = Request.Stopping;
        if (!stopping.IgnoreEos && eos.Contains(token))
        {
            Finish(token, Flush(), logProb, FinishReason.Stop);
            return;
        }
        var text = stops.Push(detokenizer?.Push(token) ?? "");
        if (stops.Stopped) Finish(token, text, logProb, FinishReason.Stop);
        else if (generated >= stopping.MaxNewTokens) Finish(token, text + Flush(), logProb, FinishReason.Length);
        else Events.Writer.TryWrite(new GenerationEvent(token, text, logProb, null));
    }

    string Flush() => stops.Push(detokenizer?.Flush() ?? "") + stops.Flush();

    public void Finish(int? token, string text, float logProb, FinishReason reason)
    {
        if (done) return;
        done = true;
        Events.Writer.TryWrite(new GenerationEvent(token, text, logProb, reason,
            new SequenceTimes(submitted, scheduled, firstToken, System.Diagnostics.Stopwatch.GetTimestamp())));
        Events.Writer.TryComplete();
        Generator?.Dispose();
    }

    public void Fail(Exception error)
    {
        if (done) return;
        done = true;
        Events.Writer.TryComplete(error);
        Generator?.Dispose();
    }
}
