using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

public static class HeadSelectorHost
{
    public const string ServiceName = "sprint.v1.HeadSelectorService";

    public static WebApplicationBuilder AddHeadSelector(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SelectorOptions.Section).Get<SelectorOptions>() ?? new SelectorOptions();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<SelectorModel>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SelectorModel>());
        builder.Services.AddHealthChecks().Add(new("selector-artifact", sp => sp.GetRequiredService<SelectorModel>(), null, [ServiceName, SprintServiceHost.ReadyTag]));
        builder.Services.Configure<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>(o =>
            o.Services.Map(ServiceName, r => r.Tags.Contains(ServiceName)));
        return builder;
    }

    public static WebApplication MapHeadSelector(this WebApplication app)
    {
        app.MapGrpcService<HeadSelectorGrpcService>();
        return app;
    }
}
