using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Generation;

/// <summary>
/// Continuous batching over one <see cref="LanguageModel"/>. Sequences are submitted at any time from any thread;
/// one decode thread owns the model and the <see cref="DecodeBatch"/>. Before every step it drops finished and
/// cancelled rows (freeing their cache at once), prefills the sequences that were admitted since the last step as a
/// batch of their own and merges them in, then decodes one token for every row. Each sequence streams its events
/// through its own channel.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    readonly LanguageModel lm;
    readonly EngineOptions options;
    readonly HashSet<int> eos;
    readonly object gate = new();
    readonly LinkedList<Sequence> queued = new();
    readonly List<Sequence> active = [];   // row i of `batch` is active[i]
    readonly List<Sequence> joining = [];  // taken from the queue, being prefilled: counted by admission like active rows
    readonly SemaphoreSlim wake = new(0);
    readonly Thread thread;
    DecodeBatch? batch;
    volatile bool disposed;
    long steps;

    public BatchScheduler(LanguageModel lm, EngineOptions? options = null)
    {
        this.lm = lm;
        this.options = options ?? new EngineOptions();
        eos = lm.EosTokenIds.ToHashSet();
        thread = new Thread(Run) { IsBackground = true, Name = "sprint-decode" };
        thread.Start();
    }

    public LanguageModel Model => lm;

    public EngineStats Stats
    {
        get
        {
            lock (gate) return new EngineStats(active.Count + joining.Count, queued.Count, Interlocked.Read(ref steps), allocatedTokens, liveTensors,
                TimeSpan.FromTicks(Interlocked.Read(ref decodeTicks)), TimeSpan.FromTicks(Interlocked.Read(ref joinTicks)),
                TimeSpan.FromTicks(Interlocked.Read(ref leaveTicks)));
        }
    }
    long allocatedTokens;
    long liveTensors;
    long decodeTicks, joinTicks, leaveTicks;   // decode-thread time per phase, in TimeSpan ticks

    /// <summary>
    /// Queues a sequence and returns its event stream. Throws <see cref="ArgumentException"/> for a request that can
    /// never run and <see cref="EngineOverloadedException"/> when the engine is full and the policy is Reject (or
    /// the queue is full). Cancelling <paramref name="cancellationToken"/> or abandoning the stream removes the
    /// sequence from the batch.
    /// </summary>
    public IAsyncEnumerable<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Validate(request);
        var sequence = new Sequence(request, lm.Tokenizer);
        lock (gate)
        {
            var reservations = active.Concat(joining).Concat(queued).Select(s => s.Reservation);
            bool fitsNow = Fits(reservations.Append(sequence.Reservation));
            if (!fitsNow && options.WhenFull == AdmissionPolicy.Reject)
                throw new EngineOverloadedException($"engine full: {active.Count} sequences decoding, {queued.Count} queued " +
                    $"(max {options.MaxConcurrentSequences} sequences, {options.MaxBatchTokens} batch tokens)");
            if (queued.Count >= options.MaxQueuedSequences)
                throw new EngineOverloadedException($"engine queue full: {queued.Count} sequences waiting");
            sequence.Node = queued.AddLast(sequence);
        }
        sequence.Registration = cancellationToken.Register(() => Cancel(sequence));
        wake.Release();
        return Stream(sequence, cancellationToken);
    }

    async IAsyncEnumerable<GenerationEvent> Stream(Sequence sequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in sequence.Events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return e;
        }
        finally
        {
            sequence.Registration.Dispose();
            if (!sequence.Done) Cancel(sequence);
        }
    }

    void Validate(GenerationRequest r)
    {
        if (r.PromptIds.Count == 0) throw new ArgumentException("prompt_ids must not be empty", nameof(r.PromptIds));
        foreach (var id in r.PromptIds)
            if (id < 0 || id >= lm.Config.VocabSize)
                throw new ArgumentException($"prompt_ids: token {id} is outside the vocabulary 0..{lm.Config.VocabSize - 1}", nameof(r.PromptIds));
        if (r.MaxNewTokens < 1) throw new ArgumentException("max_new_tokens must be at least 1", nameof(r.MaxNewTokens));
        if (r.PromptIds.Count + r.MaxNewTokens > lm.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"prompt ({r.PromptIds.Count} tokens) + max_new_tokens ({r.MaxNewTokens}) exceeds the model's " +
                $"{lm.Config.MaxPositionEmbeddings} positions", nameof(r.MaxNewTokens));
        if (r.PromptIds.Count + r.MaxNewTokens > options.MaxBatchTokens)
            throw new ArgumentException($"prompt + max_new_tokens ({r.PromptIds.Count + r.MaxNewTokens}) exceeds the engine's batch token budget {options.MaxBatchTokens}", nameof(r.MaxNewTokens));
        foreach (var head in r.PrunedHeads) head.Validate(lm.Config);
        var s = r.Sampling;
        if (s.Temperature < 0 || double.IsNaN(s.Temperature)) throw new ArgumentException("temperature must be >= 0", nameof(r.Sampling));
        if (s.TopP is <= 0 or > 1 || double.IsNaN(s.TopP)) throw new ArgumentException("top_p must be in (0, 1]", nameof(r.Sampling));
        if (s.TopK < 0) throw new ArgumentException("top_k must be >= 0", nameof(r.Sampling));
        if (r.StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop strings must not be empty", nameof(r.StopStrings));
        if (r.StopStrings.Count > 0 && lm.Tokenizer is null) throw new ArgumentException("stop strings need a model with a tokenizer", nameof(r.StopStrings));
    }

    bool Fits(IEnumerable<int> reservations)
    {
        int count = 0, longest = 0;
        foreach (var r in reservations) { count++; longest = Math.Max(longest, r); }
        return count <= options.MaxConcurrentSequences && (long)count * longest <= options.MaxBatchTokens;
    }

    void Cancel(Sequence sequence)
    {
        sequence.CancelRequested = true;
        lock (gate)
        {
            if (sequence.Node is { List: not null } node)
            {
                queued.Remove(node);
                sequence.Finish(null, "", 0, FinishReason.Cancelled);
            }
        }
        wake.Release();
    }

    void Run()
    {
        while (!disposed)
        {
            bool busy;
            lock (gate)
            {
                busy = active.Count > 0 || queued.Count > 0;
                liveTensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
            if (!busy)
            {
                wake.Wait();
                continue;
            }
            try
            {
                using (inference_mode())
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    DropCancelled();
                    long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                    AdmitQueued();
                    long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
                    Interlocked.Add(ref leaveTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).Ticks);
                    Interlocked.Add(ref joinTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t1, t2).Ticks);
                    if (active.Count > 0) DecodeStep();
                    else if (QueuedButBlocked()) wake.Wait(); // nothing decoding yet nothing fits: wait for a change
                }
            }
            catch (Exception e) when (!disposed)
            {
                FailAll(e);
            }
        }
        FailAll(new ObjectDisposedException(nameof(BatchScheduler)));
    }

    bool QueuedButBlocked()
    {
        lock (gate) return queued.Count > 0 && active.Count == 0;
    }

    void DropCancelled()
    {
        var keep = new List<int>();
        for (int i = 0; i < active.Count; i++)
        {
            if (active[i].CancelRequested) active[i].Finish(null, "", 0, FinishReason.Cancelled);
            if (!active[i].Done) keep.Add(i);
        }
        KeepRows(keep);
    }

    void KeepRows(List<int> keep)
    {
        if (keep.Count == active.Count) return;
        if (keep.Count == 0)
        {
            batch?.Dispose();
            batch = null;
        }
        else batch!.Keep(keep);
        lock (gate)
        {
            var kept = keep.Select(i => active[i]).ToList();
            active.Clear();
            active.AddRange(kept);
            allocatedTokens = batch?.AllocatedTokens ?? 0;
        }
    }

    void AdmitQueued()
    {
        var admitted = new List<Sequence>();
        lock (gate)
        {
            var reservations = active.Select(s => s.Reservation).ToList();
            while (queued.First is { } node)
            {
                reservations.Add(node.Value.Reservation);
                if (!Fits(reservations)) break; // first come, first served: nobody overtakes the head of the queue
                queued.RemoveFirst();
                node.Value.Node = null;
                admitted.Add(node.Value);
            }
            joining.AddRange(admitted);
        }
        if (admitted.Count == 0) return;
        try { Join(admitted); }
        finally { lock (gate) joining.Clear(); }
    }

    void Join(List<Sequence> admitted)
    {
        // The admitted sequences are only in `joining` until they join `active`: a failure here must fail them, or
        // their consumers would wait forever. A failed prefill leaves the running batch untouched; a failed merge
        // may not, so it fails everything (the caller's FailAll).
        DecodeBatch? newBatch = null;
        List<int> keep;
        try
        {
            (newBatch, var logits) = DecodeBatch.Prefill(lm.Model, admitted.Select(s => s.Request.PromptIds).ToList(),
                admitted.Select(s => s.Request.PrunedHeads).ToList(), options.CacheHeadroom);
            using (logits) Emit(admitted, logits);
            keep = Enumerable.Range(0, admitted.Count).Where(i => !admitted[i].Done).ToList();
            if (keep.Count == 0) { newBatch.Dispose(); return; }
            if (keep.Count < admitted.Count) newBatch.Keep(keep);
        }
        catch (Exception e) when (!disposed)
        {
            newBatch?.Dispose();
            foreach (var s in admitted) s.Fail(e);
            return;
        }
        try
        {
            if (batch is null) batch = newBatch;
            else batch.Merge(newBatch, options.CacheHeadroom);
        }
        catch (Exception e)
        {
            foreach (var s in admitted) s.Fail(e);
            throw;
        }
        lock (gate)
        {
            active.AddRange(keep.Select(i => admitted[i]));
            joining.Clear();
            allocatedTokens = batch.AllocatedTokens;
        }
    }

    void DecodeStep()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        using (var logits = batch!.Step(active.Select(s => s.LastToken).ToList())) Emit(active, logits);
        Interlocked.Increment(ref steps);
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        KeepRows(Enumerable.Range(0, active.Count).Where(i => !active[i].Done).ToList());
        Interlocked.Add(ref decodeTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).Ticks);
        Interlocked.Add(ref leaveTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t1).Ticks);
    }

    void Emit(IReadOnlyList<Sequence> rows, Tensor logits)
    {
        var (tokens, logProbs) = TokenSampler.Choose(logits, rows.Select(s => s.Request.Sampling).ToList(), rows.Select(s => s.Generator).ToList());
        for (int i = 0; i < rows.Count; i++) rows[i].Accept(tokens[i], logProbs[i], eos);
    }

    void FailAll(Exception error)
    {
        batch?.Dispose();
        batch = null;
        lock (gate)
        {
            foreach (var s in active.Concat(queued)) s.Fail(error);
            active.Clear();
            queued.Clear();
            allocatedTokens = 0;
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        wake.Release();
        thread.Join();
        wake.Dispose();
    }

    sealed class Sequence
    {
        readonly StreamingDetokenizer? detokenizer;
        readonly StopStringMatcher stops;
        int generated;

        public Sequence(GenerationRequest request, HfTokenizer? tokenizer)
        {
            Request = request;
            detokenizer = tokenizer is null ? null : new StreamingDetokenizer(tokenizer);
            stops = new StopStringMatcher(request.StopStrings);
            if (!request.Sampling.IsGreedy)
                Generator = new Generator((ulong)(request.Sampling.Seed ?? Random.Shared.NextInt64()), CPU);
            LastToken = request.PromptIds[^1];
        }

        public GenerationRequest Request { get; }
        public Generator? Generator { get; }
        public Channel<GenerationEvent> Events { get; } = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
        public LinkedListNode<Sequence>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
        public volatile bool CancelRequested;
        public int LastToken { get; private set; }
        volatile bool done;
        public bool Done { get => done; private set => done = value; }
        public int Reservation => Request.PromptIds.Count + Request.MaxNewTokens;

        public void Accept(int token, float logProb, HashSet<int> eos)
        {
            LastToken = token;
            generated++;
            if (!Request.IgnoreEos && eos.Contains(token))
            {
                Finish(token, Flush(), logProb, FinishReason.Stop);
                return;
            }
            var text = stops.Push(detokenizer?.Push(token) ?? "");
            if (stops.Stopped) Finish(token, text, logProb, FinishReason.Stop);
            else if (generated >= Request.MaxNewTokens) Finish(token, text + Flush(), logProb, FinishReason.Length);
            else Events.Writer.TryWrite(new GenerationEvent(token, text, logProb, null));
        }

        string Flush() => stops.Push(detokenizer?.Flush() ?? "") + stops.Flush();

        public void Finish(int? token, string text, float logProb, FinishReason reason)
        {
            if (Done) return;
            Done = true;
            Events.Writer.TryWrite(new GenerationEvent(token, text, logProb, reason));
            Events.Writer.TryComplete();
            Generator?.Dispose();
        }

        public void Fail(Exception error)
        {
            if (Done) return;
            Done = true;
            Events.Writer.TryComplete(error);
            Generator?.Dispose();
        }
    }
}

/// <summary>
/// A snapshot of the scheduler: rows decoding, sequences waiting, decode steps run, KV slots allocated, the decode
/// thread's live TorchSharp tensors (constant across steps when nothing leaks), and where the decode thread's time
/// went since start: decoding steps (forward, sampling, streaming), rows joining (prefill and merge into the
/// batch), rows leaving (compacting the batch when sequences finish or are cancelled).
/// </summary>
public sealed record EngineStats(int ActiveSequences, int QueuedSequences, long Steps, long AllocatedCacheTokens, long LiveTensors,
    TimeSpan Decoding = default, TimeSpan Joining = default, TimeSpan Leaving = default);
