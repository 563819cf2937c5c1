using System.CommandLine;
using Grpc.Net.Client;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// How the CLI's client commands (solve, bench load) reach a suite that is protected: an API key (or JWT) sent as
/// <c>authorization: Bearer</c>, a CA to trust for TLS, and a client certificate for mutual TLS.
/// </summary>
sealed class ClientChannel
{
    readonly Option<string?> apiKey = new("--api-key")
    {
        Description = "Bearer credential (API key or JWT) for a suite with Service:Auth on (default: $SPRINT_API_KEY)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SPRINT_API_KEY"),
    };
    readonly Option<string?> caCert = new("--ca-cert") { Description = "PEM CA bundle to trust for an https:// address (besides the system store)" };
    readonly Option<string?> clientCert = new("--client-cert") { Description = "PEM client certificate, for a suite that requires mutual TLS" };
    readonly Option<string?> clientKey = new("--client-key") { Description = "PEM key of --client-cert" };

    /// <summary>Adds the options to a client command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { apiKey, caCert, clientCert, clientKey }) command.Options.Add(option);
    }

    public GrpcChannel Create(ParseResult parse, string address)
    {
        var tls = new Tls(new TlsOptions
        {
            CertificatePath = parse.GetValue(clientCert),
            KeyPath = parse.GetValue(clientKey),
            CaPath = parse.GetValue(caCert),
        });
        var handlers = new ServiceClientHandler(tls, new AuthOptions { ServiceKey = parse.GetValue(apiKey) });
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handlers.Create(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20)),
            DisposeHttpClient = true,
        });
    }
}
