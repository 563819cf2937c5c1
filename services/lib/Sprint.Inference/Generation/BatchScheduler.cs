using System.Diagnostics;
using System.Runtime.CompilerServices;
using Sprint.Core;
using Sprint.Inference.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Generation;

// Scheduling note
// ---------------
// One decode thread owns the model and the DecodeBatch (row i of the batch is running[i]); every other thread only
// submits, cancels and reads events. Each iteration of the loop:
//   1. leave  — rows that finished or were cancelled are dropped from the batch (their slots are free at once; rows
//               past the new end move into the holes, see DecodeBatch);
//   2. join   — Admission hands over the longest prefix of the queue that fits the row and KV-token budgets; those
//               sequences are prefilled as a batch of their own straight into free slots of the batch (no merge
//               copy), and their first token is sampled;
//   3. decode — one step for every row: logits [rows, vocab] → each row's SequenceState picks and streams a token.
// Submissions never touch the batch: they validate, then queue (Wait) or fail at once (Reject / queue full).
// Determinism: which rows share a step depends only on the queue's order and on when rows finish (token counts), not
// on timing, once the work is queued before the loop can admit any of it — offline runs queue each chunk under
// HoldAdmission, so the same command batches the same rows (and rounds the same logits) in every process.
// Cancellation marks the sequence; a queued one leaves the queue immediately, a running one before the next step.
// A failed prefill fails only the sequences it admitted; a failure inside the running batch fails everything.
// The time spent in each phase is counted for EngineStats.

/// <summary>
/// Continuous batching over one <see cref="LanguageModel"/>: sequences are submitted at any time from any thread and
/// stream <see cref="GenerationEvent"/>s; one decode thread runs the loop described in the scheduling note above.
/// Admission (budgets, queue, policy) is <see cref="Admission"/>; a sequence's sampler, detokeniser and stop
/// strings are <see cref="SequenceState"/>.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    readonly LanguageModel lm;
    readonly EngineOptions options;
    readonly HashSet<int> eos;
    readonly Lock gate = new();
    readonly Admission admission;
    readonly List<SequenceState> running = [];   // row i of `batch` is running[i]
    readonly List<SequenceState> joining = [];   // taken from the queue, being prefilled: counted by admission like running rows
    readonly SemaphoreSlim wake = new(0);
    readonly Thread thread;
    DecodeBatch? batch;
    volatile bool disposed;
    long steps, allocatedTokens, liveTensors;
    int holds;   // HoldAdmission scopes open (under gate)
    bool trimmed = true;   // NativeHeap.Trim ran since the engine last had work
    long decodeTicks, joinTicks, leaveTicks;   // decode-thread time per phase, in Stopwatch ticks

    public BatchScheduler(LanguageModel lm, EngineOptions? options = null)
    {
        this.lm = lm;
        this.options = options ?? new EngineOptions();
        admission = new Admission(this.options);
        eos = lm.EosTokenIds.ToHashSet();
        thread = new Thread(Run) { IsBackground = true, Name = "sprint-decode" };
        thread.Start();
    }

    public LanguageModel Model => lm;

    /// <summary>
    /// Until disposed, queued sequences wait and rows already decoding go on: an offline run queues a whole chunk of
    /// work under a hold, so the rows the loop admits first do not depend on how far the submitting thread got.
    /// </summary>
    public IDisposable HoldAdmission()
    {
        lock (gate) holds++;
        return new AdmissionHold(this);
    }

    sealed class AdmissionHold(BatchScheduler scheduler) : IDisposable
    {
        int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 1) return;
            lock (scheduler.gate) scheduler.holds--;
            scheduler.wake.Release();
        }
    }

    /// <summary>
    /// Raised on the decode thread after every decode step with the rows it decoded (the generator's batch-size
    /// histogram). Handlers must be quick: the next step waits for them.
    /// </summary>
    public event Action<int>? Stepped;

    public EngineStats Stats
    {
        get
        {
            lock (gate) return new EngineStats(running.Count + joining.Count, admission.Queued, Interlocked.Read(ref steps), allocatedTokens, liveTensors,
                Stopwatch.GetElapsedTime(0, Interlocked.Read(ref decodeTicks)), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref joinTicks)),
                Stopwatch.GetElapsedTime(0, Interlocked.Read(ref leaveTicks)));
        }
    }

    /// <summary>
    /// Queues a sequence and returns its event stream. Throws <see cref="InvalidFieldException"/> for a request that
    /// can never run and <see cref="EngineOverloadedException"/> when the engine is full and the policy is Reject (or
    /// the queue is full). Cancelling <paramref name="cancellationToken"/> or abandoning the stream removes the
    /// sequence from the batch.
    /// </summary>
    public IAsyncEnumerable<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken = default) =>
        SubmitGroup([request], cancellationToken)[0];

    /// <summary>
    /// Queues several sequences as one group — all or none, admitted together when they fit, so their prompt pass
    /// is one batch and rows with the same prompt share it (<see cref="SharedPrefix"/>). One event stream per
    /// request, in order; each is cancelled on its own when abandoned, all of them with <paramref name="cancellationToken"/>.
    /// <paramref name="stops"/> (one per request) stop a sequence alone: it leaves the queue at once or the batch before
    /// the next step (its row and cache slots freed) and its stream ends with a <see cref="FinishReason.Cancelled"/> event.
    /// </summary>
    public IReadOnlyList<IAsyncEnumerable<GenerationEvent>> SubmitGroup(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default,
        IReadOnlyList<CancellationToken>? stops = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (requests.Count == 0) throw new ArgumentException("a group has at least one request", nameof(requests));
        foreach (var r in requests) Validate(r);
        var sequences = requests.Select(r => new SequenceState(r, lm.Tokenizer)).ToList();
        lock (gate) admission.Enqueue(sequences, [.. running, .. joining]);
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            s.Registration = cancellationToken.Register(() => Cancel(s));
            if (stops is not null) s.StopRegistration = stops[i].Register(() => Cancel(s));
        }
        wake.Release();
        return sequences.Select(s => Stream(s, cancellationToken)).ToList();
    }

    async IAsyncEnumerable<GenerationEvent> Stream(SequenceState sequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in sequence.Events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return e;
        }
        finally
        {
            sequence.Registration.Dispose();
            sequence.StopRegistration.Dispose();
            if (!sequence.Done) Cancel(sequence);
        }
    }

    /// <summary>
    /// The engine's own rules: a prompt in the vocabulary, heads inside the model, the sampling and stopping rules,
    /// prompt + new tokens inside the context and the budget. Throws <see cref="InvalidFieldException"/>; Submit
    /// calls it, and a caller may call it first to name fields in its own terms.
    /// </summary>
    public void Validate(GenerationRequest r)
    {
        if (r.PromptIds.Count == 0) throw new InvalidFieldException("prompt_ids", "must not be empty");
        int vocab = lm.Config.VocabSize;
        foreach (var id in r.PromptIds)
            if (id < 0 || id >= vocab) throw new InvalidFieldException("prompt_ids", $"token {id} is outside the vocabulary 0..{vocab - 1}");
        for (int i = 0; i < r.PrunedHeads.Count; i++) r.PrunedHeads[i].Validate(lm.Config.Shape, $"pruned_heads[{i}]");
        try { r.Sampling.Validate(); }
        catch (InvalidFieldException e) { throw e.Within("sampling"); }
        try { r.Stopping.Validate(); }
        catch (InvalidFieldException e) { throw e.Within("stopping"); }
        if (r.Stopping.StopStrings.Count > 0 && lm.Tokenizer is null) throw new InvalidFieldException("stopping.stop", "stop strings need a model with a tokenizer");
        int context = lm.Config.MaxPositionEmbeddings;
        if (r.PromptIds.Count >= context)
            throw new InvalidFieldException("prompt", $"{r.PromptIds.Count} tokens leave no room in the model's {context}-token context");
        if (r.Reservation > context)
            throw new InvalidFieldException("stopping.max_new_tokens", $"prompt ({r.PromptIds.Count} tokens) + {r.Stopping.MaxNewTokens} exceeds the model's {context}-token context");
        if (r.Reservation > options.MaxBatchTokens)
            throw new InvalidFieldException("stopping.max_new_tokens", $"prompt + max_new_tokens ({r.Reservation}) exceeds the engine's batch token budget {options.MaxBatchTokens}");
    }

    void Cancel(SequenceState sequence)
    {
        sequence.CancelRequested = true;
        lock (gate)
            if (admission.Remove(sequence)) sequence.Finish(null, "", 0, FinishReason.Cancelled);
        wake.Release();
    }

    void Run()
    {
        while (!disposed)
        {
            bool busy;
            lock (gate)
            {
                busy = running.Count > 0 || admission.Queued > 0;
                liveTensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
            if (!busy)
            {
                if (!trimmed) NativeHeap.Trim();   // idle: the batch's freed memory goes back to the OS, once per idle period
                trimmed = true;
                wake.Wait();
                continue;
            }
            trimmed = false;
            try
            {
                using (inference_mode())
                {
                    long t0 = Stopwatch.GetTimestamp();
                    DropFinished();
                    long t1 = Stopwatch.GetTimestamp();
                    AdmitQueued();
                    long t2 = Stopwatch.GetTimestamp();
                    Interlocked.Add(ref leaveTicks, t1 - t0);
                    Interlocked.Add(ref joinTicks, t2 - t1);
                    if (running.Count > 0) DecodeStep();
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
        lock (gate) return admission.Queued > 0 && running.Count == 0;
    }

    /// <summary>Phase 1: cancelled rows finish; finished rows leave the batch.</summary>
    void DropFinished()
    {
        var keep = new List<int>();
        for (int i = 0; i < running.Count; i++)
        {
            if (running[i].CancelRequested) running[i].Finish(null, "", 0, FinishReason.Cancelled);
            if (!running[i].Done) keep.Add(i);
        }
        KeepRows(keep);
    }

    void KeepRows(List<int> keep)
    {
        if (keep.Count == running.Count) return;
        int[] order = [];   // row i of the batch is now the old row order[i]
        if (keep.Count == 0)
        {
            batch?.Dispose();
            batch = null;
        }
        else order = batch!.Keep(keep);
        lock (gate)
        {
            var kept = order.Select(i => running[i]).ToList();
            running.Clear();
            running.AddRange(kept);
            allocatedTokens = batch?.AllocatedTokens ?? 0;
        }
    }

    /// <summary>Phase 2: the sequences that fit now are prefilled together and join the batch.</summary>
    void AdmitQueued()
    {
        List<SequenceState> admitted;
        lock (gate)
        {
            admitted = holds > 0 ? [] : admission.TakeFitting(running);
            joining.AddRange(admitted);
        }
        if (admitted.Count == 0) return;
        foreach (var s in admitted) s.Scheduled();
        try { Join(admitted); }
        finally { lock (gate) joining.Clear(); }
    }

    void Join(List<SequenceState> admitted)
    {
        // The admitted sequences are only in `joining` until they join `running`: a failure here must fail them, or
        // their consumers would wait forever. Their prompt pass writes into free slots of the batch, so a failure
        // (in the pass or in sampling their first tokens) drops their rows again and leaves the running rows as they were.
        batch ??= new DecodeBatch(lm.Model, options.CacheHeadroom, options.MaxConcurrentSequences);
        int before = batch.Rows;
        try
        {
            using var logits = batch.Add(admitted.Select(s => s.Request.PromptIds).ToList(), admitted.Select(s => s.Request.PrunedHeads).ToList());
            Emit(admitted, logits);
        }
        catch (Exception e) when (!disposed)
        {
            if (batch.Rows > before) batch.Keep(Enumerable.Range(0, before).ToList());
            if (before == 0) { batch.Dispose(); batch = null; }
            foreach (var s in admitted) s.Fail(e);
            return;
        }
        lock (gate)
        {
            running.AddRange(admitted);
            joining.Clear();
            allocatedTokens = batch.AllocatedTokens;
        }
        KeepRows(Enumerable.Range(0, running.Count).Where(i => !running[i].Done).ToList());   // those done at their first token leave
    }

    /// <summary>Phase 3: one token for every row.</summary>
    void DecodeStep()
    {
        long t0 = Stopwatch.GetTimestamp();
        int rows = running.Count;
        using (var logits = batch!.Step(running.Select(s => s.LastToken).ToList())) Emit(running, logits);
        Interlocked.Increment(ref steps);
        Stepped?.Invoke(rows);
        long t1 = Stopwatch.GetTimestamp();
        KeepRows(Enumerable.Range(0, running.Count).Where(i => !running[i].Done).ToList());
        Interlocked.Add(ref decodeTicks, t1 - t0);
        Interlocked.Add(ref leaveTicks, Stopwatch.GetTimestamp() - t1);
    }

    void Emit(IReadOnlyList<SequenceState> rows, Tensor logits)
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
            foreach (var s in running.Concat(admission.DrainAll())) s.Fail(error);
            running.Clear();
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
}

/// <summary>
/// A snapshot of the scheduler: rows decoding, sequences waiting, decode steps run, KV slots allocated, the decode
/// thread's live TorchSharp tensors (constant across steps when nothing leaks), and where the decode thread's time
/// went since start: decoding steps (forward, sampling, streaming), rows joining (their prompt pass, written into
/// the batch's free slots), rows leaving (moving the rows past the new end into the freed slots).
/// </summary>
public sealed record EngineStats(int ActiveSequences, int QueuedSequences, long Steps, long AllocatedCacheTokens, long LiveTensors,
    TimeSpan Decoding = default, TimeSpan Joining = default, TimeSpan Leaving = default);
