namespace Sprint.Inference;

public static class TorchThreads
{
    /// <summary>
    /// Sets libtorch's intra-op threads; 0 takes cores − 1 (at least 1), because OpenMP workers spin and starve the
    /// threads that feed them when they take every core.
    /// </summary>
    public static int Configure(int threads)
    {
        int n = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount - 1);
        TorchSharp.torch.set_num_threads(n);
        return n;
    }
}
