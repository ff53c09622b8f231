namespace Salient.Cli.Tests;

/// <summary>Runs the CLI in this process and captures what it printed (the tests run one at a time).</summary>
internal static class Cli
{
    /// <summary><c>salient ARGS</c>: the exit code, standard output and standard error.</summary>
    public static (int Exit, string Output, string Error) Run(params string[] arguments) => Capture(() => Program.Main(arguments));

    /// <summary>Whatever <paramref name="run"/> prints, with the exit code it returns.</summary>
    public static (int Exit, string Output, string Error) Capture(Func<int> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (output, error) = (new StringWriter(), new StringWriter());
        var (originalOut, originalError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (run(), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}
