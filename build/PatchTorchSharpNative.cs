// Compiled inline by RoslynCodeTaskFactory (TorchSharpNativeFix.targets), against netstandard2.0, and into the tests.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Sprint.Build
{
    /// <summary>
    /// Marks libLibTorchSharp.so's need for a libstdc++ symbol version weak, in an output folder only
    /// (never the NuGet cache), and only when this machine's libstdc++ lacks that version.
    /// </summary>
    public sealed class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
        public string Version { get; set; } = "GLIBCXX_3.4.32";

        public override bool Execute()
        {
            var libstdcxx = ElfVersionNeedPatcher.FindSystemLibStdCxx();
            if (libstdcxx == null)
            {
                Log.LogMessage(MessageImportance.Low, "No system libstdc++.so.6 found; TorchSharp native library left as is.");
                return true;
            }
            if (ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(libstdcxx)).Contains(Version))
            {
                Log.LogMessage(MessageImportance.Low, $"{libstdcxx} defines {Version}; no patch needed.");
                return true;
            }
            foreach (var item in Files)
            {
                var path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                var bytes = File.ReadAllBytes(path);
                if (ElfVersionNeedPatcher.MarkWeak(bytes, Version) == 0) continue;
                // Write a new file and move it over the old one so a hard link into the NuGet cache is never modified.
                // The copy keeps the original's timestamp, so an incremental build's copy step (same size, same time)
                // leaves it alone instead of copying the unpatched file back and patching again on every build.
                var stamp = File.GetLastWriteTimeUtc(path);
                var temp = path + ".patching";
                File.WriteAllBytes(temp, bytes);
                File.SetLastWriteTimeUtc(temp, stamp);
                File.Replace(temp, path, null);   // a rename: the path never goes missing while a process loads it
                Log.LogMessage(MessageImportance.Normal, $"Marked the {Version} need of {path} weak ({libstdcxx} lacks it).");
            }
            return true;
        }
    }


    /// <summary>
    /// Reads and edits the GNU symbol-versioning sections of a 64-bit little-endian ELF file.
    /// TorchSharp's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 (GCC 13) although it only uses
    /// it for one symbol that older libstdc++ also resolves; marking that need VER_FLG_WEAK lets the
    /// dynamic loader accept libstdc++ from GCC 12 (Debian 12).
    /// </summary>
    public static class ElfVersionNeedPatcher
    {
        const uint ShtGnuVerdef = 0x6ffffffd;
        const uint ShtGnuVerneed = 0x6ffffffe;
        public const ushort VerFlagWeak = 0x2;

        public sealed class VersionNeed
        {
            public VersionNeed(string file, string version, ushort flags, long flagsOffset)
            {
                File = file; Version = version; Flags = flags; FlagsOffset = flagsOffset;
            }
            public string File { get; }
            public string Version { get; }
            public ushort Flags { get; }
            public long FlagsOffset { get; }
        }

        public static IReadOnlyList<VersionNeed> ReadVersionNeeds(byte[] elf)
        {
            var result = new List<VersionNeed>();
            foreach (var (offset, count, strtab) in Sections(elf, ShtGnuVerneed))
            {
                long vn = offset;
                for (int i = 0; i < count; i++)
                {
                    ushort cnt = U16(elf, vn + 2);
                    string file = CString(elf, strtab + U32(elf, vn + 4));
                    long aux = vn + U32(elf, vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        result.Add(new VersionNeed(file, CString(elf, strtab + U32(elf, aux + 8)), U16(elf, aux + 4), aux + 4));
                        aux += U32(elf, aux + 12);
                    }
                    uint next = U32(elf, vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return result;
        }

        public static IReadOnlyList<string> ReadVersionDefinitions(byte[] elf)
        {
            var result = new List<string>();
            foreach (var (offset, count, strtab) in Sections(elf, ShtGnuVerdef))
            {
                long vd = offset;
                for (int i = 0; i < count; i++)
                {
                    long aux = vd + U32(elf, vd + 12);
                    result.Add(CString(elf, strtab + U32(elf, aux)));
                    uint next = U32(elf, vd + 16);
                    if (next == 0) break;
                    vd += next;
                }
            }
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on every need of <paramref name="version"/>; returns how many entries changed.</summary>
        public static int MarkWeak(byte[] elf, string version)
        {
            int changed = 0;
            foreach (var need in ReadVersionNeeds(elf))
            {
                if (need.Version != version || (need.Flags & VerFlagWeak) != 0) continue;
                ushort flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)flags;
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed++;
            }
            return changed;
        }

        /// <summary>The libstdc++.so.6 the dynamic loader would pick on this machine, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            string[] dirs =
            {
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                "/lib", "/usr/lib", "/usr/local/lib",
            };
            foreach (var dir in dirs)
            {
                var path = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(path)) return path;
            }
            return null;
        }

        static IEnumerable<(long Offset, uint Count, long StrTab)> Sections(byte[] elf, uint type)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            long shoff = (long)U64(elf, 0x28);
            int shentsize = U16(elf, 0x3A);
            int shnum = U16(elf, 0x3C);
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (U32(elf, sh + 4) != type) continue;
                long offset = (long)U64(elf, sh + 0x18);
                uint link = U32(elf, sh + 0x28);
                uint info = U32(elf, sh + 0x2C);
                long strtab = (long)U64(elf, shoff + (long)link * shentsize + 0x18);
                yield return (offset, info, strtab);
            }
        }

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        static string CString(byte[] b, long o)
        {
            long end = o;
            while (b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }
    }
}
