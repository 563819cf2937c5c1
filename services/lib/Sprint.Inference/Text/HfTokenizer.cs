using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Sprint.Inference.Checkpoint;

namespace Sprint.Inference.Text;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (GPT-2 / Qwen family) on Microsoft.ML.Tokenizers. Reads
/// <c>tokenizer.json</c> (vocabulary, merges, added tokens, the split regex and NFC normaliser), or else
/// <c>vocab.json</c> + <c>merges.txt</c> with added tokens from <c>tokenizer_config.json</c> and the Qwen2 split
/// regex, as transformers' Qwen2Tokenizer does. Added tokens — special or not — are matched whole in the raw text.
/// Decoding goes through bytes, so <see cref="StreamingDetokenizer"/> can hold back incomplete UTF-8 characters.
/// </summary>
public sealed class HfTokenizer
{
    public const string Qwen2SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Gpt2SplitPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    readonly BpeTokenizer bpe;
    readonly byte[][] tokenBytes;
    readonly Dictionary<string, int> vocabulary;
    readonly HashSet<int> specialIds;

    HfTokenizer(Dictionary<string, int> vocab, IEnumerable<string> merges, IReadOnlyDictionary<string, (int Id, bool Special)> added,
        string splitPattern, bool nfc)
    {
        var addedIds = added.ToDictionary(kv => kv.Key, kv => kv.Value.Id);
        bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = addedIds,
            PreTokenizer = new RegexPreTokenizer(new Regex(splitPattern, RegexOptions.Compiled), addedIds),
            Normalizer = nfc ? new NfcNormalizer() : null,
        });
        vocabulary = new Dictionary<string, int>(vocab);
        foreach (var (text, id) in addedIds) vocabulary[text] = id;
        specialIds = added.Where(kv => kv.Value.Special).Select(kv => kv.Value.Id).ToHashSet();

        int size = vocabulary.Values.Max() + 1;
        tokenBytes = new byte[size][];
        var unicodeToByte = ByteLevelAlphabet.UnicodeToByte;
        foreach (var (token, id) in vocab)
            tokenBytes[id] = token.Select(ch => unicodeToByte.TryGetValue(ch, out var b) ? b : throw new ModelLoadException(
                $"vocabulary token '{token}' (id {id}) is not byte-level BPE")).ToArray();
        foreach (var (text, id) in addedIds) tokenBytes[id] = Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Ids up to the largest one the tokenizer knows (the model's embedding table may be larger).</summary>
    public int Size => tokenBytes.Length;
    public IReadOnlySet<int> SpecialTokenIds => specialIds;

    public static HfTokenizer Load(string dir)
    {
        var json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json)) return FromTokenizerJson(json);
        var vocabPath = Path.Combine(dir, "vocab.json");
        var mergesPath = Path.Combine(dir, "merges.txt");
        if (File.Exists(vocabPath) && File.Exists(mergesPath)) return FromVocabAndMerges(vocabPath, mergesPath, Path.Combine(dir, "tokenizer_config.json"));
        throw new ModelLoadException($"{dir}: no tokenizer.json, nor vocab.json with merges.txt");
    }

    static HfTokenizer FromTokenizerJson(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var model = root["model"]?.AsObject() ?? throw new ModelLoadException($"{path}: 'model' is missing");
        var type = model["type"]?.GetValue<string>();
        if (type != "BPE") throw new ModelLoadException($"{path}: model type '{type}' is not supported (only byte-level BPE)");
        var vocab = model["vocab"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>());
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair
            ? pair[0]!.GetValue<string>() + " " + pair[1]!.GetValue<string>()
            : m!.GetValue<string>()).ToList();
        var added = new Dictionary<string, (int, bool)>();
        foreach (var token in root["added_tokens"]?.AsArray() ?? [])
            added[token!["content"]!.GetValue<string>()] = (token["id"]!.GetValue<int>(), token["special"]?.GetValue<bool>() ?? false);
        return new HfTokenizer(vocab, merges, added, SplitPattern(root["pre_tokenizer"], path), Nfc(root["normalizer"], path));
    }

    static HfTokenizer FromVocabAndMerges(string vocabPath, string mergesPath, string configPath)
    {
        var vocab = JsonNode.Parse(File.ReadAllText(vocabPath))!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>());
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var added = new Dictionary<string, (int, bool)>();
        if (File.Exists(configPath) && JsonNode.Parse(File.ReadAllText(configPath))?["added_tokens_decoder"] is JsonObject decoder)
            foreach (var (id, token) in decoder)
                added[token!["content"]!.GetValue<string>()] = (int.Parse(id), token["special"]?.GetValue<bool>() ?? false);
        return new HfTokenizer(vocab, merges, added, Qwen2SplitPattern, nfc: true);
    }

    static string SplitPattern(JsonNode? pre, string path)
    {
        var steps = pre?["type"]?.GetValue<string>() == "Sequence" ? pre["pretokenizers"]!.AsArray().ToList() : [pre];
        string? pattern = null;
        foreach (var step in steps.Where(s => s is not null))
        {
            switch (step!["type"]?.GetValue<string>())
            {
                case "Split":
                    pattern = step["pattern"]?["Regex"]?.GetValue<string>()
                        ?? throw new ModelLoadException($"{path}: only regex Split pre-tokenizers are supported");
                    break;
                case "ByteLevel":
                    if (step["use_regex"]?.GetValue<bool>() ?? true) pattern ??= Gpt2SplitPattern;
                    break;
                case var other:
                    throw new ModelLoadException($"{path}: pre-tokenizer '{other}' is not supported");
            }
        }
        return pattern ?? throw new ModelLoadException($"{path}: no split regex in pre_tokenizer");
    }

    static bool Nfc(JsonNode? normalizer, string path) => normalizer?["type"]?.GetValue<string>() switch
    {
        null => false,
        "NFC" => true,
        var other => throw new ModelLoadException($"{path}: normalizer '{other}' is not supported (only NFC or none)"),
    };

    public IReadOnlyList<int> Encode(string text) => text.Length == 0 ? [] : bpe.EncodeToIds(text);

    public int? TokenId(string token) => vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>The raw bytes of a token (UTF-8 for added tokens).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) =>
        (uint)id < (uint)tokenBytes.Length && tokenBytes[id] is { } bytes ? bytes : [];

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
            if (!skipSpecialTokens || !specialIds.Contains(id)) bytes.AddRange(TokenBytes(id));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    sealed class NfcNormalizer : Normalizer
    {
        public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);
        public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
    }
}

/// <summary>GPT-2's reversible map between bytes and printable characters used by byte-level BPE vocabularies.</summary>
public static class ByteLevelAlphabet
{
    public static readonly IReadOnlyDictionary<char, byte> UnicodeToByte = Build();

    static Dictionary<char, byte> Build()
    {
        var map = new Dictionary<char, byte>();
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[(char)(printable ? b : next++)] = (byte)b;
        }
        return map;
    }
}
