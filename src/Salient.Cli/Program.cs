using System.CommandLine;

namespace Salient.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Salient: saliency maps for convolutional networks.");
        return root.Parse(args).Invoke();
    }
}
