using Sprint.HeadSelector;
using Sprint.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("head-selector", defaultPort: 5002).AddHeadSelector();
var app = builder.Build();
app.MapHeadSelector().MapServiceDefaults();
app.Run();
