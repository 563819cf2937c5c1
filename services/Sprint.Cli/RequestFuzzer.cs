using Google.Protobuf;
using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Cli;

/// <summary>
/// Raw-bytes fuzzing of the suite's RPCs, a bench tool (<c>sprint bench fuzz</c>; the fuzz test compiles this file in): every RPC with a small
/// valid request, mutations of it, and a call that sends the bytes as they are (nothing on the client side parses
/// them) and returns the status. A request that passes validation runs for real until its first message.
/// </summary>
public static class RequestFuzzer
{
    static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    public static Method<byte[], byte[]> Unary(string service, string name) => new(MethodType.Unary, service, name, Raw, Raw);
    public static Method<byte[], byte[]> Streaming(string service, string name) => new(MethodType.ServerStreaming, service, name, Raw, Raw);

    /// <summary>Every RPC of the suite with a valid request to mutate.</summary>
    public static readonly IReadOnlyList<(Method<byte[], byte[]> Method, byte[] Valid)> Rpcs =
    [
        (Unary(EmbeddingService.Descriptor.FullName, "Embed"), new EmbedRequest { Text = "What is 2 + 3?" }.ToByteArray()),
        (Unary(HeadSelectorService.Descriptor.FullName, "Select"), new SelectRequest { Vector = { 0.1f, -0.2f, 0.3f }, K = 2 }.ToByteArray()),
        (Unary(HeadSelectorService.Descriptor.FullName, "SelectorInfo"), new SelectorInfoRequest().ToByteArray()),
        (Unary(GeneratorService.Descriptor.FullName, "ModelInfo"), new ModelInfoRequest().ToByteArray()),
        (Streaming(GeneratorService.Descriptor.FullName, "Generate"), new GenerateRequest
        {
            Prompt = "What is 2 + 3?",
            Stopping = new StoppingParameters { MaxNewTokens = 4 },
        }.ToByteArray()),
        (Streaming(GeneratorService.Descriptor.FullName, "GenerateGroup"), new GenerateGroupRequest
        {
            Prompt = "What is 2 + 3?",
            Stopping = new StoppingParameters { MaxNewTokens = 4 },
            Candidates = { new GroupCandidate { Index = 0 }, new GroupCandidate { Index = 1, PrunedHeads = { new PrunedHead { Layer = 1, Head = 2 } } } },
        }.ToByteArray()),
        (Unary(VerifierService.Descriptor.FullName, "Check"), new CheckRequest
        {
            Question = "What is 2 + 3?",
            Candidates = { new CheckCandidate { Index = 0, Text = "2 + 3 = 5\n\\boxed{5}" }, new CheckCandidate { Index = 1, Text = "2 \\times 3 = 7" } },
        }.ToByteArray()),
        (Unary(VerifierService.Descriptor.FullName, "VerifierInfo"), new VerifierInfoRequest().ToByteArray()),
        (Streaming(GatewayService.Descriptor.FullName, "Solve"), new SolveRequest
        {
            Question = "What is 2 + 3?", N = 2, MaxNewTokens = 4, Aggregation = Aggregation.VerifierWeighted, Adaptive = new AdaptiveParameters { Initial = 1, Margin = 0.9f },
        }.ToByteArray()),
    ];

    /// <summary>Sends <paramref name="request"/> as it is; the status it ends with (a stream that starts counts as OK and is cancelled).</summary>
    public static async Task<Status> CallAsync(CallInvoker invoker, Method<byte[], byte[]> method, byte[] request, TimeSpan timeout, Metadata? headers = null)
    {
        var options = new CallOptions(headers, deadline: DateTime.UtcNow + timeout);
        try
        {
            if (method.Type == MethodType.Unary) await invoker.AsyncUnaryCall(method, null, options, request);
            else
            {
                using var call = invoker.AsyncServerStreamingCall(method, null, options, request);
                await call.ResponseStream.MoveNext(CancellationToken.None);
            }
            return Status.DefaultSuccess;
        }
        catch (RpcException e) { return e.Status; }
    }

    /// <summary>One of: random bytes, bit flips, a truncation, an insertion, invalid UTF-8, a noncharacter or an extreme varint spliced in; or the valid request.</summary>
    public static byte[] Mutate(byte[] valid, Random random)
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
            case 5: return Splice([(byte)(random.Next(1, 16) << 3), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);   // a varint of 2^64 - 1
            case 6: return Splice([0x0a, 0x03, 0xef, 0xbf, 0xbe]);                                            // field 1: U+FFFE
            default: return valid;
        }
    }

    /// <summary>A status no input may produce: the server failed instead of refusing.</summary>
    public static bool IsServerFault(Status status) => status.StatusCode is StatusCode.Unknown or StatusCode.Internal;
}
