using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Sprint.Contracts.V1;
using Sprint.Gateway;
using Sprint.Generator;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>
/// The deployments' topology in two processes' worth of hosts on loopback: a gateway reaching a generator through a
/// <c>dns:///</c> name over mutual TLS with the service key, the generator holding only that key's hash and accepting
/// only a client certificate named "gateway" — as deploy/k8s configures it (there with generator-headless). The
/// generator's certificate names "localhost" and no address: the Solve works only if the DNS resolver's host name,
/// not the resolved address, is what TLS checks.
/// </summary>
public sealed class DeployTopologyTests : IAsyncLifetime
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-topology-").FullName;
    const string ServiceKey = "sk-test-service-0123456789", ClientKey = "sk-test-client-0123456789";
    WebApplication? generator, gateway;
    X509Certificate2 ca = null!;

    string Write(string name, X509Certificate2 certificate)
    {
        File.WriteAllText(Path.Combine(dir, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, name + ".key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return Path.Combine(dir, name);
    }

    public async Task InitializeAsync()
    {
        (ca, _, _) = TestPki.Create(dir);   // ca.pem
        var generatorFiles = Write("generator", TestPki.Issue(ca, "localhost", TestPki.ServerAuth));
        var gatewayFiles = Write("gateway", TestPki.Issue(ca, "gateway", TestPki.ServerAuth, TestPki.ClientAuth));
        var caPath = Path.Combine(dir, "ca.pem");
        generator = await DegradedTests.StartHost(b => b.AddGenerator(), a => a.MapGenerator(),
            $"--Generator:Model={Paths.Model}", "--Generator:Threads=1",
            $"--Service:Tls:CertificatePath={generatorFiles}.pem", $"--Service:Tls:KeyPath={generatorFiles}.key", $"--Service:Tls:CaPath={caPath}",
            "--Service:Tls:RequireClientCertificate=true", "--Service:Tls:AllowedClientNames:0=gateway",
            "--Service:Auth:ApiKeys:0:Name=gateway", $"--Service:Auth:ApiKeys:0:Sha256={ApiKeyHandler.Hash(ServiceKey)}",
            "--Service:Auth:ApiKeys:0:Services:0=*", "--Service:Auth:ApiKeys:0:Unlimited=true");
        int generatorPort = new Uri(generator.GrpcAddress()).Port;
        gateway = await DegradedTests.StartHost(b => b.AddGateway(), a => a.MapGateway(),
            $"--Service:Tls:CertificatePath={gatewayFiles}.pem", $"--Service:Tls:KeyPath={gatewayFiles}.key", $"--Service:Tls:CaPath={caPath}",
            "--Service:Auth:ApiKeys:0:Name=client", $"--Service:Auth:ApiKeys:0:Sha256={ApiKeyHandler.Hash(ClientKey)}",
            $"--Service:Auth:ServiceKey={ServiceKey}", $"--Gateway:GeneratorAddresses:0=dns:///localhost:{generatorPort}");
    }

    [Fact(Timeout = 300_000)]
    public async Task A_gateway_reaches_a_dns_named_generator_over_mutual_tls_with_the_service_key()
    {
        var handler = new SocketsHttpHandler();
        // The test's own client trusts the deployment CA; the gateway's certificate names "gateway", not 127.0.0.1.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build((X509Certificate2)certificate!);
        };
        using var channel = GrpcChannel.ForAddress(gateway!.GrpcAddress(), new GrpcChannelOptions { HttpHandler = new ServiceKeyHandler(ClientKey, handler) });
        await SuiteFixture.WaitServingAsync(channel, "");
        // Sampling and the plain majority: the plan needs no embedding or selector, the vote no verifier.
        var events = await Rpc.Solve(new GatewayService.GatewayServiceClient(channel),
            new SolveRequest { Question = Rpc.Question, N = 2, Strategy = Strategy.Sampling, Aggregation = Aggregation.Majority, MaxNewTokens = 16, Seed = 5 });
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(2, plan.Candidates.Count);
        Assert.All(results, r => Assert.Equal("", r.Error));
        Assert.All(results, r => Assert.True(r.Tokens > 0));
        Assert.NotNull(verdict);
    }

    public async Task DisposeAsync()
    {
        if (gateway is not null) await gateway.DisposeAsync();
        if (generator is not null) await generator.DisposeAsync();
        ca?.Dispose();
        Directory.Delete(dir, recursive: true);
    }
}
