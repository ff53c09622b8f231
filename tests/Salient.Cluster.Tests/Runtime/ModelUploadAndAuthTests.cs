using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Salient.Client;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>What the coordinator registers as a model, and who may read models back.</summary>
[Collection(LiveClusterGroup.Name)]
public sealed class ModelUploadAndAuthTests(LiveCluster cluster)
{
    private static readonly byte[] Onnx = File.ReadAllBytes(Fixtures.Path("models", "resnet_basic.onnx"));
    private static readonly string Card = File.ReadAllText(Fixtures.Path("models", "resnet_basic.json"));

    [Fact]
    public async Task A_40_MB_body_that_is_not_ONNX_is_refused_and_registers_nothing()
    {
        var garbage = new byte[40 << 20];
        new Random(14).NextBytes(garbage);

        var error = await Assert.ThrowsAsync<SalientApiException>(() => UploadAsync("not-onnx", garbage, null));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.StartsWith("model: the upload is not a model Salient can run", error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(await cluster.Client.ListModelsAsync(), m => m.Key == "not-onnx");
    }

    [Fact]
    public async Task A_card_that_disagrees_with_the_model_is_refused_naming_the_card()
    {
        var wrongSize = Card.Replace("\"height\": 32", "\"height\": 64", StringComparison.Ordinal).Replace("\"crop\": 32", "\"crop\": [64, 32]", StringComparison.Ordinal);
        var sizeError = await Assert.ThrowsAsync<SalientApiException>(() => UploadAsync("bad-card", Onnx, wrongSize));
        Assert.StartsWith("card: ", sizeError.Detail, StringComparison.Ordinal);

        var card = JsonNode.Parse(Card)!;
        card["labels"]!.AsArray().RemoveAt(9);
        var labelsError = await Assert.ThrowsAsync<SalientApiException>(() => UploadAsync("bad-card", Onnx, card.ToJsonString()));
        Assert.Equal("card: it lists 9 labels, but the model outputs 10 classes.", labelsError.Detail);
        Assert.DoesNotContain(await cluster.Client.ListModelsAsync(), m => m.Key == "bad-card");
    }

    [Fact]
    public async Task Model_downloads_need_the_API_key_when_no_worker_token_is_set_and_the_scheme_is_case_insensitive()
    {
        var model = (await cluster.Client.ListModelsAsync()).Single(m => m.Key == "resnet");
        using var http = new HttpClient { BaseAddress = cluster.Coordinator };
        var download = $"api/v1/worker/models/{model.Sha256}";

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(download)).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(download)).StatusCode);

        foreach (var scheme in new[] { "Bearer", "bearer", "BEARER" })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, ScriptedCluster.ApiKey);
            using var response = await http.GetAsync(download);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Onnx, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/jobs?limit=1")).StatusCode);
        }
    }

    private async Task UploadAsync(string key, byte[] model, string? card)
    {
        await using var modelStream = new MemoryStream(model);
        await using var cardStream = card is null ? null : new MemoryStream(Encoding.UTF8.GetBytes(card));
        await cluster.Client.UploadModelAsync(key, modelStream, cardStream);
    }
}
