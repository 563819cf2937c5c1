using System.Net;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Sprint.ServiceDefaults;

public static class SprintServiceHost
{
    /// <summary>Traces and meters of the Sprint services are named "Sprint.&lt;Service&gt;".</summary>
    public const string TelemetryPrefix = "Sprint.";
    /// <summary>Health checks with this tag decide the overall ("") gRPC health status: the process can serve.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Everything a Sprint service process needs, one extension per concern (as eShop's ServiceDefaults):
    /// <see cref="AddKestrelEndpoints"/>, <see cref="AddGrpcDefaults"/>, <see cref="HttpJson.AddHttpJson"/>, <see cref="AddAccessControl"/>,
    /// <see cref="AddHealthDefaults"/>, <see cref="AddTelemetry"/> and <see cref="AddLogging"/>.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName, int defaultPort) =>
        builder.AddKestrelEndpoints(defaultPort).AddGrpcDefaults().AddHttpJson().AddAccessControl().AddHealthDefaults().AddTelemetry(serviceName).AddLogging();

    /// <summary>
    /// A service process: the defaults, the service's own registrations and routes, then run until SIGTERM. A start-up
    /// refused for its settings (<see cref="SettingsException"/>) prints one line naming the setting and exits 2.
    /// <c>probe</c> as the first argument asks the running service beside it whether it is ready (<see cref="Probe"/>).
    /// </summary>
    public static int Run(string[] args, string serviceName, int defaultPort, Func<WebApplicationBuilder, WebApplicationBuilder> add,
        Func<WebApplication, WebApplication> map)
    {
        if (args is [Probe.Verb, .. var probeArgs]) return Probe.Run(serviceName, probeArgs);
        WebApplication app;
        try
        {
            var builder = WebApplication.CreateBuilder(args);
            add(builder.AddServiceDefaults(serviceName, defaultPort));
            app = builder.Build();
        }
        catch (SettingsException e)
        {
            Console.Error.WriteLine($"{serviceName}: {e.Message}");
            return 2;
        }
        map(app).MapServiceDefaults();
        app.Run();
        return 0;
    }

    /// <summary>
    /// The "Service" section, bound once per builder and registered (<see cref="ServiceRegistration.BindOptions{T}"/>):
    /// every extension here reads this one instance.
    /// </summary>
    public static ServiceOptions ServiceSettings(this WebApplicationBuilder builder)
    {
        var properties = ((IHostApplicationBuilder)builder).Properties;
        if (properties.TryGetValue(typeof(ServiceOptions), out var bound)) return (ServiceOptions)bound;
        var options = builder.BindOptions<ServiceOptions>(ServiceOptions.Section);
        properties[typeof(ServiceOptions)] = options;
        return options;
    }

    /// <summary>Authorization policy of each Sprint service ("gateway", "generator", "embedding", "selector", "verifier").</summary>
    public static string PolicyFor(string service) => "sprint:" + service;
    const string AnyService = "sprint:any";

    /// <summary>
    /// Who may call and how much (Service:Auth, Service:RateLimits): ASP.NET Core authentication with the API-key
    /// scheme and, when configured, JWT bearer; one authorization policy per Sprint service (<see cref="MapSprintService{T}"/>
    /// applies it); refusals as gRPC statuses; ASP.NET Core's rate limiter per caller. Also registers the handler
    /// this service's own clients use (<see cref="ServiceClientHandler"/>).
    /// </summary>
    public static WebApplicationBuilder AddAccessControl(this WebApplicationBuilder builder)
    {
        var options = builder.ServiceSettings();
        Exposure.CheckListener(options);
        options.Auth.Jwt.Validate();
        builder.Services.AddSingleton(options.Auth);
        builder.Services.AddSingleton<ServiceClientHandler>();
        builder.Services.AddSingleton<TokenBudget>();
        if (options.Auth.AllowAnonymous) builder.Services.AddHostedService<Exposure.AnonymousWarning>();
        if (options.Auth.Enabled)
        {
            string[] schemes = options.Auth.Jwt.Enabled ? [ApiKeyHandler.SchemeName, JwtBearerDefaults.AuthenticationScheme] : [ApiKeyHandler.SchemeName];
            var authentication = builder.Services.AddAuthentication(ApiKeyHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
            if (options.Auth.Jwt.Enabled) authentication.AddJwtBearer(jwt => ConfigureJwt(jwt, options.Auth.Jwt));
            builder.Services.AddAuthorization(authorization =>
            {
                foreach (var service in new[] { "gateway", "generator", "embedding", "selector", "verifier" })
                    authorization.AddPolicy(PolicyFor(service), p => p.AddAuthenticationSchemes(schemes).RequireAuthenticatedUser()
                        .RequireAssertion(c => SprintClaims.MayCall(c.User, service)));
                authorization.AddPolicy(AnyService, p => p.AddAuthenticationSchemes(schemes).RequireAuthenticatedUser());
            });
            builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResultHandler>();
        }
        bool loopback = Exposure.IsLoopback(options.Host);
        if (options.RateLimits.AnyEnabled(loopback)) builder.Services.AddRateLimiter(limiter => RateLimits.Configure(limiter, options.RateLimits, loopback));
        return builder;
    }

    /// <summary>JWT bearer with issuer, audience, lifetime and signature all required, the algorithms pinned and a short skew (<see cref="JwtOptions"/>).</summary>
    static void ConfigureJwt(JwtBearerOptions jwt, JwtOptions o)
    {
        jwt.MapInboundClaims = false;   // keep "sub" and "scope" as the token has them
        if (!string.IsNullOrWhiteSpace(o.Authority)) jwt.Authority = o.Authority;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = o.Issuer,
            ValidateAudience = true,
            ValidAudience = o.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ValidAlgorithms = o.PinnedAlgorithms,
            ClockSkew = o.ClockSkew,
            NameClaimType = "sub",
            IssuerSigningKey = string.IsNullOrWhiteSpace(o.SigningKey) ? null : new SymmetricSecurityKey(Convert.FromBase64String(o.SigningKey)),
        };
    }

    /// <summary>Maps a Sprint gRPC service behind its authorization policy (when Service:Auth is on).</summary>
    public static GrpcServiceEndpointConventionBuilder MapSprintService<TService>(this WebApplication app, string service) where TService : class
    {
        var endpoint = app.MapGrpcService<TService>();
        if (app.Services.GetRequiredService<AuthOptions>().Enabled) endpoint.RequireAuthorization(PolicyFor(service));
        return endpoint;
    }

    /// <summary>
    /// Kestrel on Service:Host and Service:Port (HTTP/2), plus an HTTP/1.1 port for gRPC-Web when Service:WebPort is
    /// set; both with TLS when Service:Tls has a certificate. Registers the bound <see cref="ServiceOptions"/> and
    /// the loaded <see cref="Tls"/> (the gateway's clients use it too).
    /// </summary>
    public static WebApplicationBuilder AddKestrelEndpoints(this WebApplicationBuilder builder, int defaultPort)
    {
        var options = builder.ServiceSettings();
        if (builder.Configuration[$"{ServiceOptions.Section}:Port"] is null) options.Port = defaultPort;
        var tls = new Tls(options.Tls);
        builder.Services.AddSingleton(tls);
        builder.Services.AddTransient<IStartupFilter, MetricsPortOnly>();
        if (Exposure.IsLoopback(options.Host) && string.IsNullOrWhiteSpace(builder.Configuration["AllowedHosts"]))
            builder.Services.Configure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(h => h.AllowedHosts = ServiceOptions.LoopbackHosts);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            Listen(kestrel, options.Host, options.Port, HttpProtocols.Http2, tls);
            if (options.WebPort > 0) Listen(kestrel, options.Host, options.WebPort, HttpProtocols.Http1, tls);
            // Plaintext: Prometheus and the kubelet's probes read it inside the cluster (Kubernetes probes do not speak
            // TLS); it carries no credentials and no request data, and the NetworkPolicy opens it to monitoring only.
            if (options.MetricsPort > 0) Listen(kestrel, options.Host, options.MetricsPort, HttpProtocols.Http1, tls: null);
        });
        return builder;
    }

    /// <summary>
    /// gRPC with the message limits of <see cref="ServiceOptions"/>, the <see cref="ErrorInterceptor"/>, requests that do
    /// not parse answered INVALID_ARGUMENT (<see cref="ParsedRequestsMethodProvider{TService}"/> in place of grpc-dotnet's
    /// binder), JSON transcoding of the annotated RPCs (<see cref="HttpJson"/>), and reflection.
    /// </summary>
    public static WebApplicationBuilder AddGrpcDefaults(this WebApplicationBuilder builder)
    {
        var options = builder.ServiceSettings();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxReceiveMessageBytes;
            grpc.MaxSendMessageSize = options.MaxSendMessageBytes;
            grpc.Interceptors.Add<CallLogInterceptor>();   // outermost: logs the status the error interceptor mapped
            grpc.Interceptors.Add<ErrorInterceptor>();
        }).AddJsonTranscoding();   // the RPCs with a google.api.http rule also as HTTP/JSON (see HttpJson)
        ParsedRequests.ReplaceBinder(builder.Services);
        builder.Services.AddGrpcReflection();
        return builder;
    }

    /// <summary>
    /// The gRPC health service: the overall ("") status from the checks tagged <see cref="ReadyTag"/>; each service
    /// adds its own name (<see cref="ServiceRegistration.AddLoadedInBackground{TLoader, TValue}"/>). On SIGTERM every
    /// status turns NOT_SERVING first (<see cref="Drain"/>), and the host waits Service:DrainDelay + Service:ShutdownGrace at most.
    /// </summary>
    public static WebApplicationBuilder AddHealthDefaults(this WebApplicationBuilder builder)
    {
        var options = builder.ServiceSettings();
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map("", r => r.Tags.Contains(ReadyTag)))
            .Add(new("drain", sp => sp.GetRequiredService<Drain>(), null, [ReadyTag, Drain.Tag]));
        builder.Services.AddSingleton<Drain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Drain>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainDelay + options.ShutdownGrace);
        return builder;
    }

    /// <summary>
    /// OpenTelemetry traces and metrics of ASP.NET Core, HttpClient and the "Sprint.*" sources; OTLP export when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set; the metrics in Prometheus format on Service:MetricsPort (<see cref="MapServiceDefaults"/>).
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        builder.Services.AddSingleton<ServiceMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t => t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddSource(TelemetryPrefix + "*")
                // grpc-dotnet's client span of each upstream call (Grpc.Net.Client.GrpcOut) sits between the caller's
                // span and the HTTP request: without it the HTTP span's parent is missing from the exported trace.
                .AddSource("Grpc.Net.Client"))
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter(TelemetryPrefix + "*")
                // .NET's own runtime meter: GC heap and collections, working set, thread pool, exceptions (dotnet.*).
                .AddMeter("System.Runtime")
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) otel.UseOtlpExporter();
        return builder;
    }

    /// <summary>
    /// Single-line console logs with the trace and span ids of the call they belong to, one line per call at Information (<see cref="CallLogInterceptor"/>; request bodies
    /// are never logged). ASP.NET Core's and grpc-dotnet's per-request lines (four a call) log warnings only; a
    /// more specific category in configuration (e.g. <c>Logging:LogLevel:Microsoft.AspNetCore.Hosting=Information</c>)
    /// brings them back; JSON transcoding's per-call lines likewise. The health-check service's own per-check log lines are off: every probe would repeat them
    /// (ten a second while a client waits for SERVING); the loaders say once what is loading, missing or failed.
    /// </summary>
    public static WebApplicationBuilder AddLogging(this WebApplicationBuilder builder)
    {
        // Each line inside a traced call carries its trace and span ids (as a scope), so logs join traces.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc.AspNetCore.Server", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc.AspNetCore.Grpc.JsonTranscoding", LogLevel.Warning);   // its per-call lines repeat the call log's status
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.None);
        return builder;
    }

    /// <summary>
    /// Maps the health service (always open), reflection (behind authentication when Service:Auth is on), the OpenAPI
    /// document (<see cref="HttpJson.MapHttpJson"/>) and, on
    /// Service:MetricsPort alone, Prometheus's <c>/metrics</c>; puts the rate limiter in the pipeline when limits are set. Call once per process, after the services' own maps.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        var reflection = app.MapGrpcReflectionService();
        if (app.Services.GetRequiredService<AuthOptions>().Enabled) reflection.RequireAuthorization(AnyService);
        var options = app.Services.GetRequiredService<ServiceOptions>();
        if (options.RateLimits.AnyEnabled(Exposure.IsLoopback(options.Host))) app.UseRateLimiter();
        app.MapHttpJson();   // after the limiter: a refused caller's JSON body is not parsed
        if (options.MetricsPort > 0)
        {
            // Served on the metrics port only (MetricsPortOnly): the scrape, and HTTP probes for Kubernetes —
            // /healthz the overall ("ready") status (503 while loading or draining), /livez that the process answers.
            app.MapPrometheusScrapingEndpoint();
            app.MapHealthChecks(ReadinessPath, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag) });
            app.MapHealthChecks(LivenessPath, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false });
        }
        return app;
    }

    /// <summary>HTTP probes on Service:MetricsPort: ready to serve (the gRPC overall status), and alive.</summary>
    public const string ReadinessPath = "/healthz", LivenessPath = "/livez";

    /// <summary>The gRPC address the started server listens on (the HTTP/2 one), e.g. "http://127.0.0.1:5001".</summary>
    public static string GrpcAddress(this WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("the server has not started");
        return addresses.First();
    }

    /// <summary>The HTTP/1.1 address (gRPC-Web, the gateway's page) when Service:WebPort is set, else null.</summary>
    public static string? WebAddress(this WebApplication app)
    {
        int port = app.Services.GetRequiredService<ServiceOptions>().WebPort;
        if (port <= 0) return null;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.FirstOrDefault(a => new Uri(a).Port == port);
    }

    static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols, Tls? tls)
    {
        void Configure(ListenOptions l)
        {
            l.Protocols = protocols;
            tls?.Apply(l);
        }
        if (host is "localhost") kestrel.ListenLocalhost(port, Configure);
        else if (host is "0.0.0.0" or "*") kestrel.ListenAnyIP(port, Configure);
        else kestrel.Listen(IPAddress.Parse(host), port, Configure);
    }

    /// <summary>
    /// Keeps Service:MetricsPort to <c>/metrics</c> and the probes (<see cref="ReadinessPath"/>, <see cref="LivenessPath"/>):
    /// it speaks HTTP/1.1, so without this the JSON routes, the page and gRPC-Web would answer there too, past a network
    /// policy that opens it to the monitoring namespace only. Runs first, ahead of every middleware the services add.
    /// </summary>
    sealed class MetricsPortOnly(ServiceOptions options) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            // Decided by the port the connection arrived on, never by the Host header a client writes: /metrics on the
            // metrics port and nowhere else, nothing else there.
            if (options.MetricsPort > 0)
                app.Use((context, nextMiddleware) =>
                    (context.Connection.LocalPort == options.MetricsPort) != MetricsPortPath(context.Request.Path)
                        ? Results.NotFound().ExecuteAsync(context)
                        : nextMiddleware(context));
            next(app);
        };

        static bool MetricsPortPath(PathString path) =>
            path.StartsWithSegments("/metrics") || path.Equals(ReadinessPath) || path.Equals(LivenessPath);
    }
}
