namespace Salient.Bench;

/// <summary>The entry point shared by the harnesses: usage errors exit 2, failures 1, as bench/run.sh expects.</summary>
internal static class Harness
{
    public static int Run(string name, string[] args, IReadOnlyCollection<string> commands, Func<HarnessOptions, int> body)
    {
        HarnessOptions options;
        try
        {
            options = HarnessOptions.Parse(args, commands);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return 2;
        }
        try
        {
            return body(options);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or FileNotFoundException)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return 2;
        }
    }
}
