using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Configuration section "Service:Auth". Off (every caller allowed) unless API keys or a JWT issuer are configured;
/// then every Sprint RPC and reflection need a bearer credential (<c>authorization: Bearer …</c>), and health stays
/// open. A caller may use the services its credential names (<see cref="ApiKey.Services"/>, or a JWT's
/// <c>scope</c>): "gateway", "generator", "embedding", "selector", "verifier", or "*" for all.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Accepted API keys, stored as the SHA-256 of the key (<c>sprint auth hash-key</c>), never the key.</summary>
    public List<ApiKey> ApiKeys { get; set; } = [];
    /// <summary>JWT bearer tokens, as an option: validated against an authority's keys or a shared signing key.</summary>
    public JwtOptions Jwt { get; set; } = new();
    /// <summary>The key this service sends to the services it calls (the gateway to its upstreams); a secret: set it from the environment.</summary>
    public string? ServiceKey { get; set; }

    public bool Enabled => ApiKeys.Count > 0 || Jwt.Enabled;
}

public sealed class ApiKey
{
    /// <summary>Who holds the key: the caller's name in logs and rate-limit partitions.</summary>
    public string Name { get; set; } = "";
    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes.</summary>
    public string Sha256 { get; set; } = "";
    /// <summary>Services this key may call: "gateway", "generator", "embedding", "selector", "verifier" or "*"; empty: the gateway only.</summary>
    public List<string> Services { get; set; } = [];
    /// <summary>Exempt from rate limits (the internal service key).</summary>
    public bool Unlimited { get; set; }
}

public sealed class JwtOptions
{
    /// <summary>OpenID Connect authority whose signing keys validate tokens, e.g. "https://login.example.com/realm".</summary>
    public string? Authority { get; set; }
    /// <summary>Base64 symmetric signing key (HS256), instead of an authority.</summary>
    public string? SigningKey { get; set; }
    public string? Issuer { get; set; }
    public string? Audience { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);
}

/// <summary>Claims the Sprint schemes put on a caller.</summary>
public static class SprintClaims
{
    public const string Service = "sprint:service";
    public const string Unlimited = "sprint:unlimited";

    /// <summary>Whether <paramref name="user"/> may call <paramref name="service"/>: an API key's services or a JWT's scopes.</summary>
    public static bool MayCall(ClaimsPrincipal user, string service)
    {
        var granted = user.FindAll(Service).Select(c => c.Value)
            .Concat(user.FindAll("scope").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        return granted.Any(g => g == "*" || string.Equals(g, service, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The caller's name for logs and rate-limit partitions, or null when not authenticated.</summary>
    public static string? Caller(ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true ? user.Identity.Name ?? user.FindFirst("sub")?.Value : null;
}

/// <summary>The "ApiKey" scheme: <c>authorization: Bearer KEY</c>, compared by SHA-256 in constant time.</summary>
public sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AuthOptions auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.NoResult());
        var token = header["Bearer ".Length..].Trim();
        if (token.Count(c => c == '.') == 2) return Task.FromResult(AuthenticateResult.NoResult());   // a JWT: the JwtBearer scheme's
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        foreach (var key in auth.ApiKeys)
        {
            byte[] expected;
            try { expected = Convert.FromHexString(key.Sha256); }
            catch (FormatException) { continue; }
            if (!CryptographicOperations.FixedTimeEquals(hash, expected)) continue;
            var claims = new List<Claim> { new(ClaimTypes.Name, key.Name) };
            claims.AddRange((key.Services.Count > 0 ? key.Services : ["gateway"]).Select(s => new Claim(SprintClaims.Service, s)));
            if (key.Unlimited) claims.Add(new Claim(SprintClaims.Unlimited, "true"));
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }
        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }

    /// <summary>The hash to store for a key.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A new random key (256 bits, URL-safe base64).</summary>
    public static string NewKey() => "sk-" + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
}

/// <summary>
/// Refusals as gRPC statuses: no or a bad credential → UNAUTHENTICATED, a credential without the service → PERMISSION_DENIED.
/// </summary>
public sealed class GrpcAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Challenged) return GrpcStatusResponse.WriteAsync(context, StatusCode.Unauthenticated, "a valid credential is required: authorization: Bearer <API key or JWT>");
        if (result.Forbidden) return GrpcStatusResponse.WriteAsync(context, StatusCode.PermissionDenied, "this credential may not call this service");
        return fallback.HandleAsync(next, context, policy, result);
    }
}

/// <summary>Adds <c>authorization: Bearer KEY</c> to this service's calls to other services.</summary>
public sealed class ServiceKeyHandler(string key, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
        return base.SendAsync(request, cancellationToken);
    }
}
