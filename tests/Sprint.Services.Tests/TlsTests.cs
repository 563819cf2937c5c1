using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>
/// The suite with mutual TLS on its port (certificates made by the test: a CA, a certificate for 127.0.0.1 that
/// the services present to callers and to each other, and an outsider's certificate): a Solve over TLS crosses all
/// four services; a caller without a certificate, with an untrusted one, in plaintext, or not trusting the server
/// is refused.
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-tls-").FullName;
    WebApplication? app;
    X509Certificate2 ca = null!, service = null!, outsider = null!;

    public async Task InitializeAsync()
    {
        (ca, service, outsider) = TestPki.Create(dir);
        app = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
        [
            "--Generator:Threads=1", "--Embedding:Threads=1",
            $"--Service:Tls:CertificatePath={Path.Combine(dir, "service.pem")}", $"--Service:Tls:KeyPath={Path.Combine(dir, "service.key")}",
            $"--Service:Tls:CaPath={Path.Combine(dir, "ca.pem")}", "--Service:Tls:RequireClientCertificate=true",
            "--Service:Tls:AllowedClientNames:0=localhost",   // the name in the service's own certificate (the gateway calls the others with it)
        ]);
        await app.StartAsync();
    }

    GrpcChannel Channel(X509Certificate2? clientCertificate, bool trustCa = true, string? address = null, X509Certificate2? intermediate = null)
    {
        var handler = new SocketsHttpHandler();
        if (clientCertificate is not null && intermediate is not null)
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, [intermediate], offline: true);
        else if (clientCertificate is not null) handler.SslOptions.ClientCertificates = [clientCertificate];
        if (trustCa)
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return errors == SslPolicyErrors.RemoteCertificateChainErrors && chain.Build((X509Certificate2)certificate!);
            };
        return GrpcChannel.ForAddress(address ?? app!.GrpcAddress(), new GrpcChannelOptions { HttpHandler = handler });
    }

    [Fact(Timeout = 300_000)]
    public async Task A_solve_over_mutual_tls_crosses_all_four_services()
    {
        Assert.StartsWith("https://", app!.GrpcAddress());
        using var channel = Channel(service);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.NotNull(health);
        await SuiteFixture.WaitServingAsync(channel, "");
        var events = await Rpc.Solve(new GatewayService.GatewayServiceClient(channel), new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 16 });
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        Assert.Equal(2, plan.Candidates.Count);   // the sprint plan: Embed and Select answered over mutual TLS too
        Assert.All(results, r => Assert.Empty(r.Error));
        Assert.NotNull(verdict);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_python_and_node_clients_solve_over_mutual_tls()
    {
        await SuiteFixture.WaitServingAsync(Channel(service), "");
        var tls = new Dictionary<string, string>
        {
            ["SPRINT_CA_CERT"] = Path.Combine(dir, "ca.pem"),
            ["SPRINT_CLIENT_CERT"] = Path.Combine(dir, "service.pem"),
            ["SPRINT_CLIENT_KEY"] = Path.Combine(dir, "service.key"),
        };
        var address = new Uri(app!.GrpcAddress()).Authority;   // 127.0.0.1:port, named in the certificate
        Clients.AssertSummary(await Clients.Python(address, 2, "sampling", tls), 2);
        Clients.AssertSummary(await Clients.Node(address, 2, "sampling", tls), 2);
    }

    [Fact(Timeout = 300_000)]
    public async Task Callers_without_a_trusted_certificate_in_plaintext_or_not_trusting_the_server_are_refused()
    {
        async Task AssertRefused(GrpcChannel channel)
        {
            using (channel)
            {
                var e = await Assert.ThrowsAsync<RpcException>(() =>
                    new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
                // The handshake fails (UNAVAILABLE); plaintext HTTP/2 to a TLS port fails as a protocol error (INTERNAL).
                Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal, e.Status.ToString());
            }
        }
        await AssertRefused(Channel(clientCertificate: null));                          // no client certificate
        await AssertRefused(Channel(outsider));                                          // a certificate of another CA
        await AssertRefused(Channel(service, trustCa: false));                           // the client does not trust the server
        await AssertRefused(Channel(service, address: app!.GrpcAddress().Replace("https://", "http://")));   // plaintext HTTP/2
    }

    /// <summary>
    /// Issued by the trusted CA, but for servers only (no clientAuth extended key usage): a leaked server certificate
    /// is not a client credential. Through an intermediate the caller sends, a client certificate is accepted.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task A_client_certificate_without_client_auth_or_outside_the_allow_list_is_refused_and_one_through_an_intermediate_is_accepted()
    {
        await SuiteFixture.WaitServingAsync(Channel(service), "");
        using var serverOnly = TestPki.Issue(ca, "localhost", TestPki.ServerAuth);
        using (var channel = Channel(serverOnly))
            AssertHandshakeRefused(await Assert.ThrowsAsync<RpcException>(() =>
                new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync));
        using var intermediate = TestPki.Issue(ca, "Sprint test intermediate");
        using var client = TestPki.Issue(intermediate, "localhost", TestPki.ClientAuth);
        using (var channel = Channel(client, intermediate: intermediate))
            Assert.NotNull(await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30)));
        // The allow-list (Service:Tls:AllowedClientNames = localhost): a client certificate of the same CA for another name is refused.
        using var intruder = TestPki.Issue(ca, "intruder", TestPki.ClientAuth);
        using (var channel = Channel(intruder))
            AssertHandshakeRefused(await Assert.ThrowsAsync<RpcException>(() =>
                new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync));
    }

    /// <summary>
    /// A client certificate the server refuses: under TLS 1.3 the client finishes its side of the handshake before the
    /// server has judged its certificate, so the refusal arrives either before the request (UNAVAILABLE) or as the
    /// connection closed under a request already sent (INTERNAL on the client) — which, depends on timing
    /// (seen once under a loaded CI run). Either way no call got through.
    /// </summary>
    static void AssertHandshakeRefused(RpcException e) =>
        Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"{e.StatusCode}: {e.Status.Detail}");

    public async Task DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
        ca?.Dispose();
        service?.Dispose();
        outsider?.Dispose();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>Certificates for tests, made on the spot (nothing to ship or expire in the repository).</summary>
static class TestPki
{
    /// <summary>
    /// Writes ca.pem, service.pem + service.key (127.0.0.1 and localhost, server and client use, issued by the CA)
    /// into <paramref name="dir"/>; returns the CA, the service certificate with its key, and an outsider's
    /// self-signed client certificate.
    /// </summary>
    public static (X509Certificate2 Ca, X509Certificate2 Service, X509Certificate2 Outsider) Create(string dir)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Sprint test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sprint-service", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var issued = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        var service = issued.CopyWithPrivateKey(key);

        File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "service.pem"), service.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "service.key"), key.ExportPkcs8PrivateKeyPem());

        using var outsiderKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var outsiderRequest = new CertificateRequest("CN=outsider", outsiderKey, HashAlgorithmName.SHA256);
        outsiderRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var outsider = outsiderRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        return (ca, service, outsider);
    }

    /// <summary>A certificate issued by <paramref name="issuer"/>: a CA (<paramref name="usages"/> empty) or a leaf named <paramref name="name"/> for those extended key usages.</summary>
    public static X509Certificate2 Issue(X509Certificate2 issuer, string name, params string[] usages)
    {
        var now = DateTimeOffset.UtcNow;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        bool ca = usages.Length == 0;
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        if (ca) request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        else
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(name);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages.Select(u => new Oid(u))], false));
        }
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var notAfter = new DateTimeOffset(issuer.NotAfter.ToUniversalTime(), TimeSpan.Zero);   // never past the issuer's own (made a moment ago)
        using var issued = request.Create(issuer, now.AddDays(-1), notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    public const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";
}
