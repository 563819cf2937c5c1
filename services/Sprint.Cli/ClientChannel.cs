using System.CommandLine;
using Grpc.Net.Client;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// How the CLI's client commands (solve, bench load) reach a suite that is protected: an API key (or JWT) sent as
/// <c>authorization: Bearer</c> — read from $SPRINT_API_KEY or a file, never from the command line, where it would
/// stay in the shell's history and every process listing — a CA to trust for TLS, and a client certificate for mutual TLS.
/// </summary>
sealed class ClientChannel
{
    /// <summary>The environment variable a client command reads its bearer credential from.</summary>
    public const string ApiKeyVariable = "SPRINT_API_KEY";

    readonly Option<FileInfo> apiKeyFile = new("--api-key-file")
    {
        Description = $"File holding the bearer credential (API key or JWT) for a suite with Service:Auth on; without it ${ApiKeyVariable} is read",
    };
    readonly Option<string?> caCert = new("--ca-cert") { Description = "PEM CA bundle to trust for an https:// address (besides the system store)" };
    readonly Option<string?> clientCert = new("--client-cert") { Description = "PEM client certificate, for a suite that requires mutual TLS" };
    readonly Option<string?> clientKey = new("--client-key") { Description = "PEM key of --client-cert" };

    public ClientChannel()
    {
        apiKeyFile.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault()?.Value is not { } path) return;
            if (!File.Exists(path)) result.AddError($"--api-key-file: {path} does not exist");
            else if (string.IsNullOrWhiteSpace(File.ReadLines(path).FirstOrDefault())) result.AddError($"--api-key-file: {path} is empty (the key goes on its first line)");
        });
    }

    /// <summary>Adds the options to a client command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { apiKeyFile, caCert, clientCert, clientKey }) command.Options.Add(option);
    }

    public GrpcChannel Create(ParseResult parse, string address)
    {
        var tls = new Tls(new TlsOptions
        {
            CertificatePath = parse.GetValue(clientCert),
            KeyPath = parse.GetValue(clientKey),
            CaPath = parse.GetValue(caCert),
        });
        var handlers = new ServiceClientHandler(tls, new AuthOptions { ServiceKey = ApiKey(parse) });
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handlers.Create(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20)),
            DisposeHttpClient = true,
        });
    }

    /// <summary>The credential: the first line of --api-key-file, else $SPRINT_API_KEY, else none.</summary>
    string? ApiKey(ParseResult parse)
    {
        if (parse.GetValue(apiKeyFile) is { } file) return File.ReadLines(file.FullName).First().Trim();   // exists and is not empty: the validators

        return Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment.Trim() : null;
    }
}
