using System.Diagnostics;
using Sprint.Inference.Generation;

namespace Sprint.Pipeline;

/// <summary>
/// The loop every offline run shares (sprint eval's best-of-N, sprint profile): questions in chunks large enough that
/// a chunk's tail does not starve the batch; each chunk queued whole under <see cref="BatchScheduler.HoldAdmission"/>
/// (the same batches in every run, so the same bytes), then awaited; after each, a progress line with the rate and
/// the time left.
/// </summary>
public static class ChunkedRun
{
    /// <param name="rowsPerItem">Sequences one question decodes (the chunk holds about 16 batches of them).</param>
    /// <param name="queue">Queues a chunk's work (while admission is held) and returns the task that ends with it.</param>
    /// <param name="alreadyDone">Questions a resumed run had done before (counted in the progress line).</param>
    public static async Task RunAsync<T>(IReadOnlyList<T> items, int rowsPerItem, int batchSize, BatchScheduler engine, TextWriter log,
        Func<T[], ValueTask<Task>> queue, CancellationToken ct, int alreadyDone = 0)
    {
        var clock = Stopwatch.StartNew();
        int done = 0;
        foreach (var chunk in items.Chunk(Math.Max(1, 16 * batchSize / Math.Max(1, rowsPerItem))))
        {
            ct.ThrowIfCancellationRequested();
            Task work;
            using (engine.HoldAdmission()) work = await queue(chunk).ConfigureAwait(false);
            await work.ConfigureAwait(false);
            done += chunk.Length;
            double rate = done * rowsPerItem / clock.Elapsed.TotalSeconds;
            var eta = TimeSpan.FromSeconds((items.Count - done) * rowsPerItem / rate);
            log.WriteLine($"  {alreadyDone + done}/{alreadyDone + items.Count} questions  {rate:F1} candidates/s  elapsed {clock.Elapsed:hh\\:mm\\:ss}  ETA {eta:hh\\:mm\\:ss}");
        }
    }
}
