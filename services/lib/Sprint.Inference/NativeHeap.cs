using System.Runtime.InteropServices;

namespace Sprint.Inference;

/// <summary>
/// Gives freed native memory back to the operating system. libtorch allocates a batch's activations and KV cache with
/// malloc; glibc keeps freed blocks in its arenas, so a process that served a burst would keep its peak resident size
/// while idle. The scheduler calls <see cref="Trim"/> once each time it goes idle.
/// </summary>
public static partial class NativeHeap
{
    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    static bool unavailable = !OperatingSystem.IsLinux();

    /// <summary>glibc's malloc_trim(0); nothing where there is none (another C library or OS).</summary>
    public static void Trim()
    {
        if (unavailable) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { unavailable = true; }
    }
}
