using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Salient.Engine.Onnx.Protos;

namespace Salient.Training;

/// <summary>
/// Everything needed to resume training after an epoch: the model as ONNX (weights, running
/// statistics and metadata such as a CSG gate), the optimizers' state, and the epochs done.
/// Stored as a zip: <c>model.onnx</c>, <c>checkpoint.json</c>, one <c>optimizer-NAME.bin</c> each.
/// </summary>
public sealed class Checkpoint
{
    private const string ModelEntry = "model.onnx";
    private const string InfoEntry = "checkpoint.json";

    public required int EpochsDone { get; init; }

    public required ModelProto Model { get; init; }

    /// <summary>The optimizers by name ("std", "csg").</summary>
    public required IReadOnlyDictionary<string, Optimizer> Optimizers { get; init; }

    public void Save(string path)
    {
        var temporary = path + ".tmp";
        using (var zip = ZipFile.Open(temporary, ZipArchiveMode.Create))
        {
            using (var stream = zip.CreateEntry(ModelEntry, CompressionLevel.Fastest).Open())
            {
                Model.WriteTo(stream);
            }

            var info = new Dictionary<string, object>
            {
                ["epochs_done"] = EpochsDone,
                ["optimizers"] = Optimizers.ToDictionary(o => o.Key, o => new Dictionary<string, object> { ["kind"] = o.Value.Kind, ["steps"] = o.Value.Steps }),
            };
            using (var stream = zip.CreateEntry(InfoEntry).Open())
            {
                JsonSerializer.Serialize(stream, info);
            }

            foreach (var (name, optimizer) in Optimizers)
            {
                using var writer = new BinaryWriter(zip.CreateEntry($"optimizer-{name}.bin", CompressionLevel.Fastest).Open());
                writer.Write(optimizer.State.Count);
                foreach (var (key, slots) in optimizer.State)
                {
                    writer.Write(key);
                    writer.Write(slots.Length);
                    foreach (var slot in slots)
                    {
                        writer.Write(slot.Length);
                        writer.Write(MemoryMarshal.AsBytes(slot.AsSpan()));
                    }
                }
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Reads a checkpoint, restoring the state of <paramref name="optimizers"/> (which must be of
    /// the kinds the checkpoint was saved with) and returning the model and epochs done.
    /// </summary>
    public static Checkpoint Load(string path, IReadOnlyDictionary<string, Optimizer> optimizers)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            ModelProto model;
            using (var stream = Entry(zip, ModelEntry, path).Open())
            {
                model = ModelProto.Parser.ParseFrom(stream);
            }

            using var info = JsonDocument.Parse(Entry(zip, InfoEntry, path).Open());
            var saved = info.RootElement.GetProperty("optimizers");
            foreach (var (name, optimizer) in optimizers)
            {
                if (!saved.TryGetProperty(name, out var entry) || entry.GetProperty("kind").GetString() != optimizer.Kind)
                {
                    throw new InvalidDataException($"Checkpoint '{path}' has no {optimizer.Kind} optimizer '{name}'; resume with the options it was trained with.");
                }

                using var reader = new BinaryReader(Entry(zip, $"optimizer-{name}.bin", path).Open());
                var state = new Dictionary<string, float[][]>(StringComparer.Ordinal);
                for (var count = reader.ReadInt32(); count > 0; count--)
                {
                    var key = reader.ReadString();
                    var slots = new float[reader.ReadInt32()][];
                    for (var s = 0; s < slots.Length; s++)
                    {
                        slots[s] = new float[reader.ReadInt32()];
                        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(slots[s].AsSpan()));
                    }

                    state[key] = slots;
                }

                optimizer.Restore(entry.GetProperty("steps").GetInt64(), state);
            }

            return new Checkpoint { EpochsDone = info.RootElement.GetProperty("epochs_done").GetInt32(), Model = model, Optimizers = optimizers };
        }
        catch (Exception e) when (e is InvalidDataException or IOException or JsonException or KeyNotFoundException or InvalidProtocolBufferException or EndOfStreamException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' cannot be read: {e.Message}", e);
        }
    }

    private static ZipArchiveEntry Entry(ZipArchive zip, string name, string path) =>
        zip.GetEntry(name) ?? throw new InvalidDataException($"Checkpoint '{path}' has no '{name}'.");
}
