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
/// Configuration section "Service:Auth". With API keys or a JWT issuer configured every Sprint RPC and reflection need
/// a bearer credential (<c>authorization: Bearer …</c>), and health stays open. A caller may use the services its
/// credential names (an API key's <see cref="ApiKey.Services"/>, a JWT's <c>scope</c>): "gateway", "generator",
/// "embedding", "selector", "verifier", or "*" for all. Without either, every caller is allowed — on a loopback
/// address only: a service bound to any other address refuses to start unless <see cref="AllowAnonymous"/> says
/// the operator means it (<see cref="Exposure"/>).
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Accepted API keys, stored as the SHA-256 of the key (<c>sprint auth hash-key</c>), never the key.</summary>
    public List<ApiKey> ApiKeys { get; set; } = [];
    /// <summary>JWT bearer tokens, as an option: validated against an authority's keys or a shared signing key.</summary>
    public JwtOptions Jwt { get; set; } = new();
    /// <summary>The key this service sends to the services it calls (the gateway to its upstreams); a secret: set it from the environment.</summary>
    public string? ServiceKey { get; set; }
    /// <summary>
    /// Serve callers without a credential on a non-loopback address (e.g. behind a gateway that authenticates); one
    /// warning line at start-up says so. Off: such a start is refused.
    /// </summary>
    public bool AllowAnonymous { get; set; }

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

/// <summary>
/// JWT bearer tokens (Service:Auth:Jwt). With an authority or a signing key, <see cref="Issuer"/> and
/// <see cref="Audience"/> are required (the service refuses to start without them), the algorithms are pinned and
/// the clock skew is <see cref="ClockSkew"/>. A token grants services through its <c>scope</c> only: the
/// <c>sprint:*</c> claims of API keys are never read from a token.
/// </summary>
public sealed class JwtOptions
{
    /// <summary>OpenID Connect authority whose signing keys validate tokens, e.g. "https://login.example.com/realm".</summary>
    public string? Authority { get; set; }
    /// <summary>Base64 symmetric signing key (HS256), instead of an authority.</summary>
    public string? SigningKey { get; set; }
    /// <summary>The <c>iss</c> every token must carry (required with JWT).</summary>
    public string? Issuer { get; set; }
    /// <summary>The <c>aud</c> every token must carry (required with JWT), e.g. "sprint".</summary>
    public string? Audience { get; set; }
    /// <summary>Accepted signing algorithms; empty: HS256 with a signing key, RS256/PS256/ES256 with an authority.</summary>
    public List<string> Algorithms { get; set; } = [];
    /// <summary>Tolerated clock difference for <c>exp</c>/<c>nbf</c>; at most one minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);

    /// <summary>The algorithms tokens may be signed with.</summary>
    public IReadOnlyList<string> PinnedAlgorithms => Algorithms.Count > 0 ? Algorithms
        : !string.IsNullOrWhiteSpace(SigningKey) ? [SecurityAlgorithms.HmacSha256]
        : [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];

    /// <summary>Refuses a JWT configuration that would accept tokens meant for someone else.</summary>
    public void Validate()
    {
        if (!Enabled) return;
        if (string.IsNullOrWhiteSpace(Issuer)) throw new SettingsException("Service:Auth:Jwt:Issuer is required with JWT (the iss every token must carry)");
        if (string.IsNullOrWhiteSpace(Audience)) throw new SettingsException("Service:Auth:Jwt:Audience is required with JWT (the aud every token must carry, e.g. sprint)");
        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(1)) throw new SettingsException($"Service:Auth:Jwt:ClockSkew must be between 0 and 00:01:00, not {ClockSkew}");
        if (!string.IsNullOrWhiteSpace(SigningKey) && PinnedAlgorithms.Any(a => !a.StartsWith("HS", StringComparison.Ordinal)))
            throw new SettingsException("Service:Auth:Jwt:Algorithms: a signing key verifies HS256/HS384/HS512 only");
    }
}

/// <summary>
/// What a caller's credential grants. The <c>sprint:*</c> claims count only on the identity the API-key scheme made
/// (a JWT that carries them gets nothing from them); a JWT's services are its <c>scope</c>.
/// </summary>
public static class SprintClaims
{
    public const string Service = "sprint:service";
    public const string Unlimited = "sprint:unlimited";

    static ClaimsIdentity? KeyIdentity(ClaimsPrincipal user) =>
        user.Identities.FirstOrDefault(i => i.IsAuthenticated && i.AuthenticationType == ApiKeyHandler.SchemeName);

    static ClaimsIdentity? TokenIdentity(ClaimsPrincipal user) =>
        user.Identities.FirstOrDefault(i => i.IsAuthenticated && i.AuthenticationType != ApiKeyHandler.SchemeName);

    /// <summary>Whether <paramref name="user"/> may call <paramref name="service"/>: an API key's services or a JWT's scopes.</summary>
    public static bool MayCall(ClaimsPrincipal user, string service)
    {
        var granted = (KeyIdentity(user)?.FindAll(Service).Select(c => c.Value) ?? [])
            .Concat(TokenIdentity(user)?.FindAll("scope").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)) ?? []);
        return granted.Any(g => g == "*" || string.Equals(g, service, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Exempt from rate limits: an API key configured <see cref="ApiKey.Unlimited"/>, never a token.</summary>
    public static bool IsUnlimited(ClaimsPrincipal user) => KeyIdentity(user)?.HasClaim(Unlimited, "true") == true;

    /// <summary>
    /// The caller's rate-limit partition and name in logs: "key:NAME" for an API key, "jwt:SUB" for a token's subject,
    /// null when not authenticated. Distinct prefixes: a token whose subject is a key's name does not share its budget.
    /// </summary>
    public static string? Caller(ClaimsPrincipal user) =>
        KeyIdentity(user) is { } key ? "key:" + key.Name
        : TokenIdentity(user) is { } token ? "jwt:" + (token.FindFirst("sub")?.Value ?? token.Name)
        : null;
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

/// <summary>
/// Adds <c>authorization: Bearer KEY</c> to this service's calls to other services — only over TLS or to a loopback
/// address: a request that would carry the key in cleartext across a network fails instead (the start-up check,
/// <see cref="Exposure.CheckUpstream"/>, names the setting before it comes to that).
/// </summary>
public sealed class ServiceKeyHandler(string key, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && !Exposure.MayCarryKey(uri))
            throw new HttpRequestException($"refusing to send a bearer credential in cleartext to {uri.GetLeftPart(UriPartial.Authority)}: use https:// (Service:Tls) or a loopback address");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
        return base.SendAsync(request, cancellationToken);
    }
}
