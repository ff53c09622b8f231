using Spectre.Console;

namespace Salient.Cli;

/// <summary>A progress bar on a terminal; on a pipe or in CI, one plain line per step instead.</summary>
internal static class Progress
{
    /// <summary>Runs <paramref name="work"/>, which reports how many items it has finished and how many failed.</summary>
    public static void Run(string title, int total, Action<Action<int, int>> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var task = context.AddTask(title, maxValue: Math.Max(total, 1));
                    work((done, failed) =>
                    {
                        task.Value = done;
                        task.Description = failed > 0 ? $"{title} ({failed} failed)" : title;
                    });
                });
            return;
        }

        work((done, failed) => Console.Error.WriteLine($"{title}: {done}/{total} done, {failed} failed"));
    }
}
