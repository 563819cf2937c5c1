using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

public static class HeadSelectorHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.HeadSelectorService.Descriptor.FullName;

    public static WebApplicationBuilder AddHeadSelector(this WebApplicationBuilder builder)
    {
        builder.BindOptions<SelectorOptions>(SelectorOptions.Section);
        builder.Services.AddLoadedInBackground<SelectorLoader, Sprint.Selection.SelectorArtifact>(ServiceName, "selector-artifact");
        return builder;
    }

    public static WebApplication MapHeadSelector(this WebApplication app)
    {
        app.MapSprintService<HeadSelectorGrpcService>("selector");
        return app;
    }
}
