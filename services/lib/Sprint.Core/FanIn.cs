using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Sprint.Core;

/// <summary>
/// Many producers, one reader: the producers write to one channel while the caller reads it as a stream — so a gRPC
/// response stream keeps a single writer however many candidates feed it (the gateway's Solve, the generator's
/// GenerateGroup).
/// </summary>
public static class FanIn
{
    /// <summary>
    /// Starts <paramref name="produce"/> on a channel and yields what it writes, in order; the stream ends when the
    /// producer's task ends, and throws what it threw.
    /// </summary>
    public static async IAsyncEnumerable<T> Merge<T>(Func<ChannelWriter<T>, Task> produce, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        Task run;
        try { run = produce(channel.Writer); }
        catch (Exception e) { run = Task.FromException(e); }
        _ = run.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var item in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return item;
        await run.ConfigureAwait(false);
    }
}
