using Sprint.Build;

namespace Sprint.Inference.Tests;

/// <summary>The build's Debian-12 fix: libLibTorchSharp.so's GLIBCXX_3.4.32 need marked weak, nothing else changed.</summary>
public sealed class NativeFixTests
{
    const string Version = "GLIBCXX_3.4.32";

    static string PackagedLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Fact]
    public void Marking_the_need_weak_changes_only_its_flags()
    {
        var original = File.ReadAllBytes(PackagedLibrary());
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(original);
        var need = Assert.Single(needs, n => n.Version == Version);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(0, need.Flags & ElfVersionNeedPatcher.VerFlagWeak);

        var patched = (byte[])original.Clone();
        Assert.Equal(1, ElfVersionNeedPatcher.MarkWeak(patched, Version));
        Assert.Equal(0, ElfVersionNeedPatcher.MarkWeak(patched, Version)); // idempotent

        var after = ElfVersionNeedPatcher.ReadVersionNeeds(patched);
        Assert.Equal(ElfVersionNeedPatcher.VerFlagWeak, after.Single(n => n.Version == Version).Flags & ElfVersionNeedPatcher.VerFlagWeak);
        Assert.Equal(needs.Where(n => n.Version != Version).Select(n => n.Flags), after.Where(n => n.Version != Version).Select(n => n.Flags));
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.All(changed, i => Assert.InRange(i, need.FlagsOffset, need.FlagsOffset + 1));
    }

    [Fact]
    public void The_output_copy_is_patched_exactly_when_the_system_libstdcxx_lacks_the_version()
    {
        var libstdcxx = ElfVersionNeedPatcher.FindSystemLibStdCxx();
        Assert.NotNull(libstdcxx);
        bool systemHasIt = ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(libstdcxx)).Contains(Version);
        Assert.Contains("GLIBCXX_3.4", ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(libstdcxx)));

        var output = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        var flags = ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(output)).Single(n => n.Version == Version).Flags;
        Assert.Equal(!systemHasIt, (flags & ElfVersionNeedPatcher.VerFlagWeak) != 0);
        // The NuGet cache is never touched.
        var cached = ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(PackagedLibrary())).Single(n => n.Version == Version).Flags;
        Assert.Equal(0, cached & ElfVersionNeedPatcher.VerFlagWeak);
    }
}
