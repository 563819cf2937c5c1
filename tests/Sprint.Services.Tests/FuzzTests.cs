using Google.Protobuf;
using Grpc.Core;
using Sprint.Cli;
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
    static Method<byte[], byte[]> Unary(string service, string name) => RequestFuzzer.Unary(service, name);
    static Method<byte[], byte[]> Streaming(string service, string name) => RequestFuzzer.Streaming(service, name);

    Task<Status> Call(Method<byte[], byte[]> method, byte[] request) =>
        RequestFuzzer.CallAsync(suite.Channel.CreateCallInvoker(), method, request, TimeSpan.FromSeconds(30));

    static void AssertProper(Status status, string what)
    {
        Assert.False(RequestFuzzer.IsServerFault(status), $"{what}: {status.StatusCode} \"{status.Detail}\"");
        Assert.True(status.Detail.Length <= 400, $"{what}: a {status.Detail.Length}-character detail");
    }

    [Theory(Timeout = 300_000)]
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

    [Theory(Timeout = 300_000)]
    [MemberData(nameof(Reproducers))]
    public async Task Invalid_fields_are_named_and_quoted_short(string service, string name, byte[] request, string field)
    {
        var status = await Call(name is "Solve" or "Generate" ? Streaming(service, name) : Unary(service, name), request);
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.StartsWith(field, status.Detail);
        Assert.Matches("^[a-z_.\\[\\]0-9]+: ", status.Detail);    // names its field
        AssertProper(status, name);
    }

    [Fact(Timeout = 300_000)]
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

    [Fact(Timeout = 300_000)]
    public async Task Seeded_fuzz_of_every_rpc_never_answers_UNKNOWN_or_INTERNAL()
    {
        const int perRpc = 1000;
        var random = new Random(20261129);
        var counts = new Dictionary<StatusCode, int>();
        foreach (var (method, valid) in RequestFuzzer.Rpcs)
            for (int i = 0; i < perRpc; i++)
            {
                var request = RequestFuzzer.Mutate(valid, random);
                var status = await Call(method, request);
                AssertProper(status, $"{method.FullName} with {Convert.ToHexString(request)}");
                counts[status.StatusCode] = counts.GetValueOrDefault(status.StatusCode) + 1;
            }
        // Both kinds happened: requests refused for their content and requests that ran.
        Assert.True(counts.GetValueOrDefault(StatusCode.InvalidArgument) > perRpc, string.Join(", ", counts));
        Assert.True(counts.GetValueOrDefault(StatusCode.OK) > perRpc, string.Join(", ", counts));
    }
}
