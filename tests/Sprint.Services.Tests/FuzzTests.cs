using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// Raw bytes to every RPC of the suite (a raw-bytes marshaller, so nothing on the client side parses them): the
/// reproducers of the security review, then a seeded fuzz. No input may end as UNKNOWN or INTERNAL, and no status
/// detail may echo an unbounded part of the input.
/// </summary>
[Collection(SuiteCollection.Name)]
public sealed class FuzzTests(SuiteFixture suite)
{
    static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    static Method<byte[], byte[]> Unary(string service, string name) => new(MethodType.Unary, service, name, Raw, Raw);
    static Method<byte[], byte[]> Streaming(string service, string name) => new(MethodType.ServerStreaming, service, name, Raw, Raw);

    /// <summary>Every RPC with a valid request to mutate (small: a valid mutant runs for real until its first message).</summary>
    static readonly (Method<byte[], byte[]> Method, byte[] Valid)[] Rpcs =
    [
        (Unary("sprint.v1.EmbeddingService", "Embed"), new EmbedRequest { Text = "What is 2 + 3?" }.ToByteArray()),
        (Unary("sprint.v1.HeadSelectorService", "Select"), new SelectRequest { Vector = { 0.1f, -0.2f, 0.3f }, K = 2 }.ToByteArray()),
        (Unary("sprint.v1.HeadSelectorService", "SelectorInfo"), new SelectorInfoRequest().ToByteArray()),
        (Unary("sprint.v1.GeneratorService", "ModelInfo"), new ModelInfoRequest().ToByteArray()),
        (Streaming("sprint.v1.GeneratorService", "Generate"), new GenerateRequest
        {
            Prompt = "What is 2 + 3?",
            Stopping = new StoppingParameters { MaxNewTokens = 4 },
        }.ToByteArray()),
        (Streaming("sprint.v1.GeneratorService", "GenerateGroup"), new GenerateGroupRequest
        {
            Prompt = "What is 2 + 3?",
            Stopping = new StoppingParameters { MaxNewTokens = 4 },
            Candidates = { new GroupCandidate { Index = 0 }, new GroupCandidate { Index = 1, PrunedHeads = { new Contracts.V1.PrunedHead { Layer = 1, Head = 2 } } } },
        }.ToByteArray()),
        (Streaming("sprint.v1.GatewayService", "Solve"), new SolveRequest { Question = "What is 2 + 3?", N = 2, MaxNewTokens = 4 }.ToByteArray()),
    ];

    async Task<Status> Call(Method<byte[], byte[]> method, byte[] request)
    {
        var invoker = suite.Channel.CreateCallInvoker();
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        try
        {
            if (method.Type == MethodType.Unary) await invoker.AsyncUnaryCall(method, null, options, request);
            else
            {
                // A request that passes validation streams; its first message is enough, the call is then cancelled.
                using var call = invoker.AsyncServerStreamingCall(method, null, options, request);
                await call.ResponseStream.MoveNext(CancellationToken.None);
            }
            return Status.DefaultSuccess;
        }
        catch (RpcException e) { return e.Status; }
    }

    static void AssertProper(Status status, string what)
    {
        Assert.False(status.StatusCode is StatusCode.Unknown or StatusCode.Internal, $"{what}: {status.StatusCode} \"{status.Detail}\"");
        Assert.True(status.Detail.Length <= 400, $"{what}: a {status.Detail.Length}-character detail");
    }

    [Theory]
    [InlineData("sprint.v1.EmbeddingService", "Embed", "0a03eda080")]          // a lone surrogate as UTF-8 in a string
    [InlineData("sprint.v1.GatewayService", "Solve", "0a03eda080")]
    [InlineData("sprint.v1.GeneratorService", "Generate", "0a03eda080")]
    [InlineData("sprint.v1.GatewayService", "Solve", "0a05616263")]            // truncated: 5 bytes announced, 3 sent
    [InlineData("sprint.v1.HeadSelectorService", "Select", "0e")]              // wire type 6 does not exist
    public async Task A_message_that_does_not_parse_is_INVALID_ARGUMENT(string service, string name, string hex)
    {
        var method = name is "Solve" or "Generate" ? Streaming(service, name) : Unary(service, name);
        var status = await Call(method, Convert.FromHexString(hex));
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.StartsWith("request: the message could not be parsed", status.Detail);
    }

    public static TheoryData<string, string, byte[], string> Reproducers() => new()
    {
        { "sprint.v1.EmbeddingService", "Embed", new EmbedRequest { Text = "ab\uFFFEcd" }.ToByteArray(), "text:" },   // a noncharacter
        { "sprint.v1.GatewayService", "Solve", new SolveRequest { Question = "q", Strategy = (Strategy)12345 }.ToByteArray(), "strategy:" },
        { "sprint.v1.HeadSelectorService", "Select", new SelectRequest { Vector = { 1f }, ModelId = new string('m', 20_000) }.ToByteArray(), "" },
        { "sprint.v1.GeneratorService", "Generate", new GenerateRequest { Prompt = "x", Stopping = new() { Stop = { new string('s', 9_000) } } }.ToByteArray(), "stopping.stop" },
    };

    [Theory]
    [MemberData(nameof(Reproducers))]
    public async Task Invalid_fields_are_named_and_quoted_short(string service, string name, byte[] request, string field)
    {
        var status = await Call(name is "Solve" or "Generate" ? Streaming(service, name) : Unary(service, name), request);
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.StartsWith(field, status.Detail);
        Assert.Matches("^[a-z_.\\[\\]0-9]+: ", status.Detail);    // names its field
        AssertProper(status, name);
    }

    [Fact]
    public async Task A_question_beyond_the_context_is_refused_before_any_model_work()
    {
        // 8,100 digits fit the 8 KiB limits but are one token each: far beyond the model's 512-token context.
        var digits = string.Concat(Enumerable.Range(0, 8_100).Select(i => (char)('0' + i * 7 % 10)));
        var encoder = suite.App.Services.GetRequiredService<Embedding.EmbeddingEncoder>();
        int batches = encoder.Batches;
        var embed = await Assert.ThrowsAsync<RpcException>(() => suite.Embedding.EmbedAsync(new EmbedRequest { Text = digits }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, embed.StatusCode);
        Assert.Matches("^text: [0-9]+ tokens exceed the encoder's 512-token context", embed.Status.Detail);

        var solve = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(suite.Gateway, new SolveRequest { Question = digits, N = 2 }));
        Assert.Equal(StatusCode.InvalidArgument, solve.StatusCode);
        Assert.Matches("^question: [0-9]+ tokens exceed", solve.Status.Detail);
        Assert.Equal(batches, encoder.Batches);   // nothing was encoded
    }

    [Fact]
    public async Task Seeded_fuzz_of_every_rpc_never_answers_UNKNOWN_or_INTERNAL()
    {
        const int perRpc = 1000;
        var random = new Random(20261129);
        var counts = new Dictionary<StatusCode, int>();
        foreach (var (method, valid) in Rpcs)
            for (int i = 0; i < perRpc; i++)
            {
                var request = Mutate(valid, random);
                var status = await Call(method, request);
                AssertProper(status, $"{method.FullName} with {Convert.ToHexString(request)}");
                counts[status.StatusCode] = counts.GetValueOrDefault(status.StatusCode) + 1;
            }
        // Both kinds happened: requests refused for their content and requests that ran.
        Assert.True(counts.GetValueOrDefault(StatusCode.InvalidArgument) > perRpc, string.Join(", ", counts));
        Assert.True(counts.GetValueOrDefault(StatusCode.OK) > perRpc, string.Join(", ", counts));
    }

    /// <summary>One of: random bytes, bit flips, a truncation, an insertion, invalid UTF-8, a noncharacter or an extreme varint spliced in; or the valid request.</summary>
    internal static byte[] Mutate(byte[] valid, Random random)
    {
        byte[] Bytes(int n) { var b = new byte[n]; random.NextBytes(b); return b; }
        byte[] Splice(byte[] insert) { int at = random.Next(valid.Length + 1); return [.. valid[..at], .. insert, .. valid[at..]]; }
        switch (random.Next(8))
        {
            case 0: return Bytes(random.Next(0, 48));
            case 1:
            {
                var b = (byte[])valid.Clone();
                for (int flips = random.Next(1, 4); flips > 0 && b.Length > 0; flips--) b[random.Next(b.Length)] ^= (byte)(1 << random.Next(8));
                return b;
            }
            case 2: return valid[..random.Next(valid.Length + 1)];
            case 3: return Splice(Bytes(random.Next(1, 8)));
            case 4: return Splice([0x0a, 0x03, 0xed, 0xa0, 0x80]);                                            // field 1: a lone surrogate
            case 6: return Splice([0x0a, 0x03, 0xef, 0xbf, 0xbe]);                                            // field 1: U+FFFE
            case 5: return Splice([(byte)(random.Next(1, 16) << 3), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);   // a varint of 2^64 - 1
            default: return valid;
        }
    }
}
