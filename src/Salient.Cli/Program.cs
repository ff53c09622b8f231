using System.CommandLine;
using Salient.Cli.Commands;

namespace Salient.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Salient: saliency maps for convolutional networks.")
        {
            PredictCommand.Create(),
            ExplainCommand.Create(),
            BenchCommand.Create(),
            PwlaCommand.Create(),
            ScenesCommand.Create(),
            TrainCommand.Create(),
            OnnxCommand.Create(),
            CsgCommand.Create(),
            EvalCommand.Create(),
            ServeCommand.Create(),
            JobCommand.Create(),
            JobCommand.Workers(),
            UploadCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
