using Sprint.Gateway.OpenAi;
using Microsoft.Extensions.FileProviders;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

public static class GatewayHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.GatewayService.Descriptor.FullName;

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var options = builder.BindOptions<GatewayOptions>(GatewayOptions.Section);
        options.CheckUpstreams(builder.ServiceSettings());
        // gRPC-Web from a page on another origin: its calls are POSTs with gRPC headers, and the page reads the status
        // and the invalid field from the response.
        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy.WithOrigins([.. options.CorsOrigins])
            .AllowAnyHeader().WithMethods("POST")
            .WithExposedHeaders("grpc-status", "grpc-message", "grpc-status-details-bin", ErrorInterceptor.FieldTrailer, ErrorInterceptor.ReasonTrailer)));
        builder.Services.AddSingleton<Upstreams>();
        builder.Services.AddSingleton<ICandidateUpstreams>(sp => sp.GetRequiredService<Upstreams>());
        builder.Services.AddSingleton<HeadsFallback>();
        builder.Services.AddSingleton<CandidateRunner>();
        builder.Services.AddSingleton<Solver>();
        builder.Services.AddSingleton<GatewayMetrics>();
        // Nothing to load: serving as soon as it listens (upstream trouble shows per call, not as NOT_SERVING).
        builder.Services.AddServiceHealth(ServiceName, "gateway", _ => new AlwaysHealthy());
        return builder;
    }

    /// <summary>
    /// Maps Solve, reachable over gRPC and (through the gRPC-Web middleware) from browsers, and the Solve page at "/"
    /// (embedded in this assembly). A page served from another origin calls Solve under the CORS policy
    /// <see cref="GatewayOptions.CorsOrigins"/>.
    /// </summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        var page = new ManifestEmbeddedFileProvider(typeof(GatewayHost).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = page, OnPrepareResponse = file => PageHeaders(file.Context.Response.Headers) });
        app.UseGrpcWeb();
        app.UseCors();
        var solve = app.MapSprintService<GatewayGrpcService>("gateway").EnableGrpcWeb();
        if (app.Services.GetRequiredService<GatewayOptions>().CorsOrigins.Count > 0) solve.RequireCors(CorsPolicy);
        app.MapOpenAi();   // OpenAI's Chat Completions over the same Solver
        var upstreams = app.Services.GetRequiredService<Upstreams>();
        app.Lifetime.ApplicationStarted.Register(() => upstreams.ConnectInBackground(app.Lifetime.ApplicationStopping));
        return app;
    }

    const string CorsPolicy = "sprint-web";

    /// <summary>
    /// The page's own files: scripts and styles from this origin only and no inline script (CSP), calls to this
    /// origin only, never framed (clickjacking), no MIME sniffing, no referrer sent.
    /// </summary>
    static void PageHeaders(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
    }
}
