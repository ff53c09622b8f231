using System.CommandLine;
using Salient.Engine;
using Salient.Engine.Onnx;
using Salient.Engine.Training;
using Salient.Imaging;

namespace Salient.Cli.Commands;

/// <summary>
/// <c>salient onnx head|join</c>: cut the trained part off a model trained with <c>salient train
/// --backbone</c>, and join such a part to its backbone again, so only the part needs shipping.
/// </summary>
internal static class OnnxCommand
{
    public static Command Create()
    {
        var command = new Command("onnx", "Cut a model at a value and join the parts (a trained head and its pretrained backbone).");
        command.Subcommands.Add(Head());
        command.Subcommands.Add(Join());
        return command;
    }

    private static Command Head()
    {
        var model = new Option<FileInfo>("--model") { Description = "The full model; its model card gives the input size.", Required = true };
        var at = new Option<string>("--at") { Description = "The ONNX value where the head begins (its input).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The head (.onnx): every node after the value.", Required = true };
        var half = new Option<bool>("--half") { Description = "Store the head's weights in half precision (each behind a Cast to float): half the file, the weights rounded to 11 significant bits." };
        var command = new Command("head", "Write the part of a model after a value, as its own ONNX model.") { model, at, half, output };
        command.SetAction(r => Guarded(() =>
        {
            var (loaded, loader) = InputLoader.Open(r.GetValue(model)!.FullName);
            var card = loader.Card;
            var shape = loaded.ShapeOf(r.GetValue(at)!, [1, card.Channels, card.Height, card.Width]);
            var head = OnnxGraphCuts.After(OnnxImporter.ReadProto(loaded.Path), r.GetValue(at)!, [.. shape.Skip(1)]);
            if (r.GetValue(half))
            {
                head = OnnxHalfStorage.Narrowed(head);
            }

            TrainableModel.Write(head, r.GetValue(output)!.FullName);
            Console.WriteLine($"wrote {r.GetValue(output)!.FullName}: {head.Graph.Node.Count} nodes after '{r.GetValue(at)}' [{string.Join(',', shape.Skip(1))}]");
        }));
        return command;
    }

    private static Command Join()
    {
        var backbone = new Option<FileInfo>("--backbone") { Description = "The pretrained model whose graph up to --at feeds the head.", Required = true };
        var at = new Option<string>("--at") { Description = "The backbone's value that feeds the head.", Required = true };
        var bgr = new Option<bool>("--bgr") { Description = "The backbone was trained on BGR images: reverse its first convolutions' input channels (as salient train --bgr)." };
        var head = new Option<FileInfo>("--head") { Description = "The head (salient onnx head).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The joined model (.onnx).", Required = true };
        var command = new Command("join", "Join a head (in float or half precision) to the backbone it was trained on, as a float model.") { backbone, at, bgr, head, output };
        command.SetAction(r => Guarded(() =>
        {
            var first = OnnxImporter.ReadProto(r.GetValue(backbone)!.FullName);
            if (r.GetValue(bgr))
            {
                OnnxGraphCuts.ReverseInputChannels(first);
            }

            // A head stored in half precision joins as the float weights it stands for.
            var joined = OnnxGraphCuts.Join(first, r.GetValue(at)!, OnnxHalfStorage.Widened(OnnxImporter.ReadProto(r.GetValue(head)!.FullName)));
            var path = r.GetValue(output)!.FullName;
            TrainableModel.Write(joined, path);

            // Check that it imports before anyone relies on it.
            _ = Model.Load(path);
            Console.WriteLine($"wrote {path}");
        }));
        return command;
    }

    private static int Guarded(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is ModelException or InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
