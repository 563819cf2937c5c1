namespace Sprint.Inference;

public static class TorchThreads
{
    /// <summary>
    /// All cores but one (at least 1): libtorch's OpenMP workers spin after each parallel region, and on a small
    /// machine they starve the threads that stream tokens to consumers when they take every core (measured in the
    /// README's benchmark section).
    /// </summary>
    public static int Default => Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>Sets libtorch's intra-op threads; 0 takes <see cref="Default"/>.</summary>
    public static int Configure(int threads)
    {
        int n = threads > 0 ? threads : Default;
        TorchSharp.torch.set_num_threads(n);
        return n;
    }
}
