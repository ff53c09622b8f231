using System.Text.Json;
using Salient.Imaging.Datasets;

namespace Salient.Imaging.Tests.Datasets;

/// <summary>Scenes on a synthetic item set: determinism, occlusion-consistent masks, boxes, labels, and the written folder.</summary>
public sealed class SceneGeneratorTests
{
    private static readonly FashionMnist Items = SyntheticItems.Dataset();

    [Fact]
    public void The_same_seed_gives_identical_scenes_and_another_seed_different_ones()
    {
        var a = new SceneGenerator(Items, seed: 5);
        var b = new SceneGenerator(Items, seed: 5);
        var c = new SceneGenerator(Items, seed: 6);

        for (var i = 0; i < 10; i++)
        {
            var (x, y) = (a.Generate(i), b.Generate(i));
            Assert.Equal(x.Pixels.ToArray(), y.Pixels.ToArray());
            Assert.Equal(x.Objects.Select(o => (o.Class, o.Item, o.Box, o.Area)), y.Objects.Select(o => (o.Class, o.Item, o.Box, o.Area)));
            Assert.All(x.Objects.Zip(y.Objects), p => Assert.Equal(p.First.Mask.ToArray(), p.Second.Mask.ToArray()));
            Assert.NotEqual(x.Pixels.ToArray(), c.Generate(i).Pixels.ToArray());
            Assert.NotEqual(x.Pixels.ToArray(), a.Generate(i + 1).Pixels.ToArray());
        }
    }

    [Theory]
    [InlineData(96, 3)]
    [InlineData(64, 2)]
    [InlineData(48, 1)]
    public void Masks_are_disjoint_non_empty_and_bounded_by_their_boxes(int size, int maxObjects)
    {
        var generator = new SceneGenerator(Items, seed: 1, size, maxObjects);
        var counts = new int[maxObjects + 1];
        for (var i = 0; i < 100; i++)
        {
            var scene = generator.Generate(i);
            Assert.Equal(size, scene.Size);
            AssertConsistent(scene, Items, maxObjects);
            counts[scene.Objects.Count]++;
        }

        // Every allowed object count occurs.
        Assert.All(counts.Skip(1), n => Assert.True(n > 0));
    }

    [Fact]
    public void Later_objects_occlude_earlier_ones()
    {
        // Solid squares: an object's footprint is its whole square, so the pixels of an earlier
        // object's box missing from its mask must be exactly those later objects cover.
        var labels = Enumerable.Range(0, 10).Select(c => (byte)c).ToArray();
        var squares = new FashionMnist(Enumerable.Repeat((byte)255, labels.Length * 784).ToArray(), labels);
        var generator = new SceneGenerator(squares, seed: 3);
        var holes = 0;
        for (var i = 0; i < 50; i++)
        {
            var scene = generator.Generate(i);
            var later = new bool[scene.Size * scene.Size];
            for (var k = scene.Objects.Count - 1; k >= 0; k--)
            {
                var o = scene.Objects[k];
                var mask = o.Mask.Span;
                for (var y = o.Box.Y0; y <= o.Box.Y1; y++)
                {
                    for (var x = o.Box.X0; x <= o.Box.X1; x++)
                    {
                        var p = (y * scene.Size) + x;
                        Assert.True(mask[p] == 255 ^ later[p], $"scene {i} object {k} pixel ({x},{y})");
                        holes += later[p] ? 1 : 0;
                    }
                }

                for (var p = 0; p < mask.Length; p++)
                {
                    later[p] |= mask[p] == 255;
                }
            }
        }

        Assert.True(holes > 0, "no object was partly occluded in 50 scenes");
    }

    [Fact]
    public void A_split_with_fewer_classes_than_max_objects_gives_fewer_objects()
    {
        var generator = new SceneGenerator(SyntheticItems.Dataset(perClass: 2, classes: 2), seed: 0, maxObjects: 3);

        for (var i = 0; i < 20; i++)
        {
            Assert.InRange(generator.Generate(i).Objects.Count, 1, 2);
        }
    }

    [Fact]
    public void The_written_folder_matches_the_scenes()
    {
        var work = Directory.CreateTempSubdirectory("salient-scenes-");
        try
        {
            var generator = new SceneGenerator(Items, seed: 9, size: 64);
            SceneWriter.Write(work.FullName, generator, 4);

            var lines = File.ReadAllLines(System.IO.Path.Combine(work.FullName, SceneWriter.ManifestName));
            Assert.Equal(4, lines.Length);
            for (var i = 0; i < lines.Length; i++)
            {
                var scene = generator.Generate(i);
                var line = JsonDocument.Parse(lines[i]).RootElement;
                Assert.Equal($"images/scene_0000{i}.png", line.GetProperty("image").GetString());
                Assert.Equal(scene.Labels, line.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()));
                using var image = RgbImage.Load(System.IO.Path.Combine(work.FullName, line.GetProperty("image").GetString()!));
                Assert.Equal(scene.Pixels.ToArray(), image.Pixels.ToArray());

                var objects = line.GetProperty("objects").EnumerateArray().ToList();
                Assert.Equal(scene.Objects.Count, objects.Count);
                foreach (var (o, json) in scene.Objects.Zip(objects))
                {
                    Assert.Equal(o.Class, json.GetProperty("class").GetInt32());
                    Assert.Equal(o.Label, json.GetProperty("label").GetString());
                    Assert.Equal(new[] { o.Box.X0, o.Box.Y0, o.Box.X1, o.Box.Y1 }, json.GetProperty("box").EnumerateArray().Select(e => e.GetInt32()));
                    Assert.Equal(o.Area, json.GetProperty("area").GetInt32());
                    using var mask = RgbImage.Load(System.IO.Path.Combine(work.FullName, json.GetProperty("mask").GetString()!));
                    var gray = mask.Pixels.ToArray().Where((_, j) => j % 3 == 0);
                    Assert.Equal(o.Mask.ToArray(), gray);
                }
            }
        }
        finally
        {
            work.Delete(true);
        }
    }

    [SkippableFact]
    public void Scenes_of_Debians_items_are_consistent_when_installed()
    {
        // The package is optional (CI does not install it); the synthetic tests cover the generator.
        Skip.IfNot(Directory.Exists(FashionMnist.DefaultDirectory), $"{FashionMnist.DefaultDirectory} is not installed (apt-get install dataset-fashion-mnist)");

        var items = FashionMnist.Load("test");
        var generator = new SceneGenerator(items, seed: 0);
        for (var i = 0; i < 30; i++)
        {
            AssertConsistent(generator.Generate(i), items, generator.MaxObjects);
        }
    }

    /// <summary>1..<paramref name="maxObjects"/> objects of distinct classes, disjoint non-empty 0/255 masks, boxes and areas that match them.</summary>
    private static void AssertConsistent(Scene scene, FashionMnist items, int maxObjects)
    {
        Assert.Equal(scene.Size * scene.Size * 3, scene.Pixels.Length);
        Assert.InRange(scene.Objects.Count, 1, maxObjects);
        Assert.Equal(scene.Objects.Select(o => o.Class).Distinct().Count(), scene.Objects.Count);
        Assert.Equal(scene.Objects.Select(o => o.Class).Order(), scene.Labels);

        var owners = new int[scene.Size * scene.Size];
        foreach (var o in scene.Objects)
        {
            var mask = o.Mask.Span;
            Assert.Equal(scene.Size * scene.Size, mask.Length);
            int x0 = scene.Size, y0 = scene.Size, x1 = -1, y1 = -1, area = 0;
            for (var p = 0; p < mask.Length; p++)
            {
                Assert.True(mask[p] is 0 or 255);
                if (mask[p] == 255)
                {
                    owners[p]++;
                    area++;
                    (x0, y0, x1, y1) = (Math.Min(x0, p % scene.Size), Math.Min(y0, p / scene.Size), Math.Max(x1, p % scene.Size), Math.Max(y1, p / scene.Size));
                }
            }

            Assert.True(area > 0);
            Assert.Equal(area, o.Area);
            Assert.Equal(new SceneBox(x0, y0, x1, y1), o.Box);
            Assert.Equal(o.Class, items.Label(o.Item));
        }

        Assert.All(owners, n => Assert.InRange(n, 0, 1));
    }
}
