using System.Threading.Channels;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Dynamic batching across callers (as text-embeddings-inference does): the first waiting item starts a batch, which
/// takes whatever else arrives within <c>wait</c>, up to <c>maxBatch</c> items; one batch runs at a time on a
/// background loop started by the first item. Items whose caller has gone (cancelled) before their batch runs get no
/// work; a batch that throws fails every item in it. The Embedding encoder and the Verifier's learned verifier batch
/// through it.
/// </summary>
/// <param name="run">Computes one result per item, in order.</param>
public sealed class DynamicBatcher<TItem, TResult>(TimeSpan wait, int maxBatch, Func<IReadOnlyList<TItem>, IReadOnlyList<TResult>> run) : IDisposable
{
    readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    Task? loop;

    sealed record Pending(TItem Item, TaskCompletionSource<TResult> Result, CancellationToken Ct);

    /// <summary>The item's result, computed in a batch with the other items waiting now.</summary>
    public Task<TResult> RunAsync(TItem item, CancellationToken ct)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        if (!queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(DynamicBatcher<TItem, TResult>));
        LazyInitializer.EnsureInitialized(ref loop, () => Task.Run(LoopAsync));
        return pending.Result.Task.WaitAsync(ct);
    }

    async Task LoopAsync()
    {
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new List<Pending>();
            var until = DateTime.UtcNow + wait;
            while (batch.Count < Math.Max(1, maxBatch))
            {
                if (reader.TryRead(out var next)) { batch.Add(next); continue; }
                var left = until - DateTime.UtcNow;
                if (batch.Count > 0 && left <= TimeSpan.Zero) break;
                using var timer = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                try { if (!await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false)) break; }
                catch (OperationCanceledException) { break; }
            }
            var live = batch.Where(p => !p.Ct.IsCancellationRequested).ToList();   // callers gone: no work for them
            foreach (var p in batch.Except(live)) p.Result.TrySetCanceled(p.Ct);
            if (live.Count == 0) continue;
            try
            {
                var results = run(live.Select(p => p.Item).ToList());
                for (int i = 0; i < live.Count; i++) live[i].Result.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var p in live) p.Result.TrySetException(e);
            }
        }
    }

    public void Dispose() => queue.Writer.TryComplete();
}
