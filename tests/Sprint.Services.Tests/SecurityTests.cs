using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Sprint.ServiceDefaults;
using Sprint.Suite;

namespace Sprint.Services.Tests;

/// <summary>
/// Issue 21's findings, each written as the attack: what a deployment gets when the operator did not turn anything on.
/// Nothing here listens on a non-loopback address: the refusals happen while the host is built, before Kestrel binds.
/// </summary>
public sealed class SecurityTests(SuiteFixture suite) : IClassFixture<SuiteFixture>
{
    static SettingsException BuildRefused(params string[] args) =>
        Assert.Throws<SettingsException>(() => InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true, args));

    [Fact]
    public void A_service_on_a_network_address_without_authentication_refuses_to_start()
    {
        foreach (var host in new[] { "0.0.0.0", "*", "192.0.2.10", "::" })
        {
            var e = BuildRefused($"--Service:Host={host}");
            Assert.Contains($"Service:Host={host} is not a loopback address", e.Message);
            Assert.Contains("Service:Auth:AllowAnonymous=true", e.Message);
        }
        // Each service on its own (the deploy files' processes), not only the suite.
        var generator = WebApplication.CreateBuilder(["--Service:Host=0.0.0.0"]);
        Assert.Contains("Service:Auth:ApiKeys", Assert.Throws<SettingsException>(() => generator.AddServiceDefaults("generator", 0)).Message);
        // Said out loud, it starts (and anonymous callers get the network defaults below).
        using var allowed = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true, ["--Service:Host=0.0.0.0", "--Service:Auth:AllowAnonymous=true"]);
        Assert.NotNull(allowed);
    }

    /// <summary>
    /// The deployable process (the Verifier's, as its image runs it) exits 2 with one line naming the setting. The
    /// address is TEST-NET (192.0.2.10, on no interface here): were the check missing, binding would fail otherwise,
    /// and nothing would listen beyond loopback.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task A_service_process_on_a_network_address_without_authentication_exits_naming_the_setting()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Paths.ServiceDll("Verifier", "Sprint.Verifier"), "--Service:Host=192.0.2.10", "--Service:Port=0"])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        try { await process.WaitForExitAsync(timeout.Token); }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        Assert.Equal(2, process.ExitCode);
        var lines = (await error).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("verifier: Service:Host=192.0.2.10 is not a loopback address", lines[0]);
        Assert.Contains("Service:Auth:AllowAnonymous=true", lines[0]);
    }

    [Fact]
    public void Anonymous_callers_on_a_network_address_are_rate_limited_by_default()
    {
        var none = new RateLimitOptions();
        var network = none.For("peer:192.0.2.7", loopback: false);
        Assert.Equal((60, 4, 16_384), (network.Requests, network.ConcurrentCalls, network.Tokens));
        Assert.True(none.AnyEnabled(loopback: false));
        Assert.False(none.AnyEnabled(loopback: true));   // this machine's own user: limits are opt-in
        Assert.False(none.For("key:alice", loopback: false).Enabled);   // a key's limits are the operator's to set
        var configured = new RateLimitOptions { Anonymous = new CallerLimits { Requests = 5 } };
        Assert.Equal(5, configured.For("peer:::1", loopback: true).Requests);
    }

    [Fact]
    public void The_service_key_is_never_configured_to_cross_a_network_in_cleartext()
    {
        var key = new[] { "--Service:Auth:ApiKeys:0:Name=alice", $"--Service:Auth:ApiKeys:0:Sha256={ApiKeyHandler.Hash("sk-alice-0123456789")}", "--Service:Auth:ServiceKey=sk-internal-0123456789" };
        var e = BuildRefused([.. key, "--Gateway:EmbeddingAddress=http://embedding:5001"]);
        Assert.StartsWith("Gateway:EmbeddingAddress=http://embedding:5001 would carry Service:Auth:ServiceKey in cleartext", e.Message);
        Assert.Contains("Gateway:GeneratorAddresses:0=dns:///generator:5003", BuildRefused([.. key, "--Gateway:GeneratorAddresses:0=dns:///generator:5003"]).Message);
        // Loopback and https:// are fine.
        using var fine = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
            [.. key, "--Gateway:EmbeddingAddress=http://127.0.0.1:5001", "--Gateway:SelectorAddress=https://selector:5002"]);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_service_key_handler_itself_refuses_a_cleartext_request_to_another_machine()
    {
        using var http = new HttpClient(new ServiceKeyHandler("sk-internal-0123456789", new SocketsHttpHandler()));
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://192.0.2.1:5001/"));   // TEST-NET: never connected
        Assert.StartsWith("refusing to send a bearer credential in cleartext to http://192.0.2.1:5001", e.Message);
    }

    [Fact]
    public void Jwt_without_issuer_or_audience_or_with_a_long_skew_refuses_to_start()
    {
        var signing = $"--Service:Auth:Jwt:SigningKey={Convert.ToBase64String(new byte[32])}";
        Assert.Contains("Service:Auth:Jwt:Issuer is required", BuildRefused(signing, "--Service:Auth:Jwt:Audience=sprint").Message);
        Assert.Contains("Service:Auth:Jwt:Audience is required", BuildRefused(signing, "--Service:Auth:Jwt:Issuer=me").Message);
        Assert.Contains("ClockSkew", BuildRefused(signing, "--Service:Auth:Jwt:Issuer=me", "--Service:Auth:Jwt:Audience=sprint", "--Service:Auth:Jwt:ClockSkew=00:05:00").Message);
        Assert.Contains("HS256", BuildRefused(signing, "--Service:Auth:Jwt:Issuer=me", "--Service:Auth:Jwt:Audience=sprint", "--Service:Auth:Jwt:Algorithms:0=RS256").Message);
    }

    /// <summary>DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends its own Host header.</summary>
    [Fact(Timeout = 30_000)]
    public async Task A_loopback_service_answers_only_its_own_host_names()
    {
        using var http = new HttpClient();
        foreach (var (host, expected) in new[] { ("evil.example", HttpStatusCode.BadRequest), ($"evil.example:{new Uri(suite.WebAddress).Port}", HttpStatusCode.BadRequest),
                                                 ("127.0.0.1", HttpStatusCode.OK), ("localhost", HttpStatusCode.OK), ("[::1]", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, suite.WebAddress + "/v1/model");
            request.Headers.Host = host;
            Assert.Equal((host, expected), (host, (await http.SendAsync(request)).StatusCode));
        }
    }

    /// <summary>A service process as the deploy files start one (the verifier: nothing to load): no OpenAPI document or Swagger UI unless Service:OpenApi.</summary>
    [Fact(Timeout = 60_000)]
    public async Task OpenApi_and_swagger_are_off_unless_asked_for()
    {
        foreach (var (openApi, expected) in new[] { ((string?)null, HttpStatusCode.NotFound), ("true", HttpStatusCode.OK) })
        {
            var builder = WebApplication.CreateBuilder(openApi is null ? [] : [$"--Service:OpenApi={openApi}"]);
            builder.Logging.ClearProviders();
            Sprint.Verifier.VerifierHost.AddVerifier(builder.AddServiceDefaults("verifier", 0));
            await using var app = builder.Build();
            Sprint.Verifier.VerifierHost.MapVerifier(app).MapServiceDefaults();
            await app.StartAsync();
            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
            foreach (var path in new[] { HttpJson.OpenApiPath, "/swagger/index.html" })
                Assert.Equal((path, expected), (path, (await http.GetAsync(app.GrpcAddress() + path)).StatusCode));
            await app.StopAsync();
        }
    }
}
