using System.Text.Json.Nodes;

namespace Salient.Deploy.Tests;

public sealed class HelmChartTests(ChartValidation validation) : IClassFixture<ChartValidation>
{
    [SkippableFact]
    public void Every_values_file_renders_valid_manifests_and_invalid_values_are_refused()
    {
        validation.RequireValid();
        Assert.Contains("3 values files valid", validation.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Gpu_pools_get_one_cuda_device_per_gpu_and_stay_on_their_nodes()
    {
        var objects = validation.Rendered("gpu-keda");
        var a100 = Find(objects, "Deployment", "salient-worker-a100");
        var pod = a100["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        Assert.Equal(
            ["serve", "--role", "worker", "--models", "resnet50,densenet121", "--devices", "cuda:0,cuda:1", "--capacity", "4"],
            Strings(container["args"]));
        Assert.Equal(2, (int)container["resources"]!["limits"]!["nvidia.com/gpu"]!);
        Assert.Equal("nvidia-tesla-a100", (string?)pod["nodeSelector"]!["cloud.google.com/gke-accelerator"]);
        Assert.Equal("nvidia.com/gpu", (string?)pod["tolerations"]![0]!["key"]);
        Assert.Equal("nvidia", (string?)pod["runtimeClassName"]);
        Assert.Equal(600, (int)pod["terminationGracePeriodSeconds"]!);

        var t4 = Find(objects, "Deployment", "salient-worker-t4")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["serve", "--role", "worker", "--models", "mobilenetv2", "--devices", "cuda:0"], Strings(t4["args"]));
    }

    [SkippableFact]
    public void Autoscaled_pools_count_the_shards_of_their_models_and_leave_replicas_to_keda()
    {
        var objects = validation.Rendered("gpu-keda");

        Assert.Equal(
            "SELECT count(*) FROM shards WHERE state IN ('queued', 'leased') AND model_key = ANY('{resnet50,densenet121}')",
            (string?)Trigger(objects, "salient-worker-a100")["metadata"]!["query"]);
        Assert.Equal("4", (string?)Trigger(objects, "salient-worker-a100")["metadata"]!["targetQueryValue"]);
        Assert.Equal("2", (string?)Trigger(objects, "salient-worker-t4")["metadata"]!["activationTargetQueryValue"]);
        Assert.Null(Find(objects, "Deployment", "salient-worker-a100")["spec"]!["replicas"]);
        Assert.Equal(2, (int)Find(objects, "Deployment", "salient-worker-cpu")["spec"]!["replicas"]!);
        Assert.DoesNotContain(objects, o => Is(o, "ScaledObject", "salient-worker-cpu"));

        var connection = Find(objects, "TriggerAuthentication", "salient-postgresql")["spec"]!["secretTargetRef"]![0]!;
        Assert.Equal(("connection", "salient", "database-url"),
            ((string?)connection["parameter"], (string?)connection["name"], (string?)connection["key"]));

        // The query text is SQL: model keys land in an array literal; a pool of any model counts every shard.
        var existing = validation.Rendered("existing-secrets");
        Assert.Equal(
            "SELECT count(*) FROM shards WHERE state IN ('queued', 'leased') AND model_key = ANY('{resnet50,vgg16}')",
            (string?)Trigger(existing, "salient-worker-gpu")["metadata"]!["query"]);
        Assert.Equal(
            "SELECT count(*) FROM shards WHERE state IN ('queued', 'leased')",
            (string?)Trigger(existing, "salient-worker-spare")["metadata"]!["query"]);
    }

    [SkippableFact]
    public void Credentials_come_from_the_named_existing_secrets()
    {
        var objects = validation.Rendered("existing-secrets");
        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "Secret");
        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "ServiceAccount");

        var coordinator = Find(objects, "Deployment", "salient-coordinator")["spec"]!["template"]!["spec"]!;
        Assert.Equal("salient-runner", (string?)coordinator["serviceAccountName"]);
        var env = SecretRefs(coordinator["containers"]![0]!);
        Assert.Equal("salient-pg-app/npgsql", env["SALIENT_DB"]);
        Assert.Equal("salient-blob/path", env["SALIENT_BLOB"]);
        Assert.Equal("salient-api/keys", env["SALIENT_API_KEYS"]);
        Assert.Equal("salient-api/worker (optional)", env["SALIENT_WORKER_TOKEN"]);

        var worker = Find(objects, "Deployment", "salient-worker-gpu")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["SALIENT_BLOB", "SALIENT_DB", "SALIENT_WORKER_TOKEN"], SecretRefs(worker).Keys.Order(StringComparer.Ordinal));
        Assert.Contains(worker["env"]!.AsArray(), e => (string?)e!["name"] == "SALIENT_COORDINATOR"
            && (string?)e["value"] == "http://salient-coordinator:80");
        Assert.Equal("registry.example.com/salient@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            (string?)worker["image"]);

        var connection = Find(objects, "TriggerAuthentication", "salient-postgresql")["spec"]!["secretTargetRef"]![0]!;
        Assert.Equal("salient-pg-app/uri", $"{connection["name"]}/{connection["key"]}");
    }

    [SkippableTheory]
    [InlineData("default")]
    [InlineData("gpu-keda")]
    [InlineData("existing-secrets")]
    public void Pods_run_non_root_on_a_read_only_root_with_probes_and_disruption_budgets(string values)
    {
        var objects = validation.Rendered(values);
        var budgets = objects.Where(o => (string?)o["kind"] == "PodDisruptionBudget").ToList();
        foreach (var deployment in objects.Where(o => (string?)o["kind"] == "Deployment"))
        {
            var name = (string)deployment["metadata"]!["name"]!;
            var pod = deployment["spec"]!["template"]!["spec"]!;
            var container = pod["containers"]![0]!;
            Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!, name);
            Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!, name);
            Assert.Contains("/tmp", container["volumeMounts"]!.AsArray().Select(m => (string?)m!["mountPath"]));
            Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
            Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);

            var podLabels = deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
            var covered = budgets.Any(b => b["spec"]!["selector"]!["matchLabels"]!.AsObject()
                .All(label => (string?)podLabels[label.Key] == (string?)label.Value));
            // The gpu-keda CPU pool turns its budget off; every other Deployment keeps one.
            Assert.Equal(name != "salient-worker-cpu" || values != "gpu-keda", covered);
        }
    }

    private static bool Is(JsonObject o, string kind, string name) =>
        (string?)o["kind"] == kind && (string?)o["metadata"]!["name"] == name;

    private static JsonObject Find(IReadOnlyList<JsonObject> objects, string kind, string name) =>
        objects.SingleOrDefault(o => Is(o, kind, name)) ?? throw new InvalidOperationException($"no {kind} {name}");

    private static JsonNode Trigger(IReadOnlyList<JsonObject> objects, string scaledObject) =>
        Find(objects, "ScaledObject", scaledObject)["spec"]!["triggers"]![0]!;

    private static List<string?> Strings(JsonNode? array) => array!.AsArray().Select(n => (string?)n).ToList();

    /// <summary>"secret/key" of each env var filled from a Secret, by variable name.</summary>
    private static Dictionary<string, string> SecretRefs(JsonNode container) =>
        container["env"]!.AsArray()
            .Where(e => e!["valueFrom"]?["secretKeyRef"] is not null)
            .ToDictionary(
                e => (string)e!["name"]!,
                e =>
                {
                    var reference = e!["valueFrom"]!["secretKeyRef"]!;
                    var optional = reference["optional"] is { } flag && (bool)flag ? " (optional)" : "";
                    return $"{reference["name"]}/{reference["key"]}{optional}";
                },
                StringComparer.Ordinal);
}
