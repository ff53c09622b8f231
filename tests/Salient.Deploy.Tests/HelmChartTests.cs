using System.Text.Json.Nodes;

namespace Salient.Deploy.Tests;

public sealed class HelmChartTests(ChartValidation validation) : IClassFixture<ChartValidation>
{
    [SkippableFact]
    public void Every_values_file_renders_valid_manifests_and_invalid_values_are_refused()
    {
        validation.RequireValid();
        Assert.Contains("3 values files valid", validation.Output, StringComparison.Ordinal);
        Assert.Contains("5 invalid ones refused", validation.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Gpu_pools_get_one_cuda_device_per_gpu_and_stay_on_their_nodes()
    {
        var objects = validation.Rendered("gpu-keda");
        var a100 = Find(objects, "Deployment", "salient-worker-a100");
        var pod = a100["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        Assert.Equal(
            ["serve", "--role", "worker", "--models", "resnet50,densenet121", "--devices", "cuda:0,cuda:1", "--silo-port", "11111", "--gateway-port", "30000", "--capacity", "4"],
            Strings(container["args"]));
        Assert.Equal(2, (int)container["resources"]!["limits"]!["nvidia.com/gpu"]!);
        Assert.Equal("nvidia-tesla-a100", (string?)pod["nodeSelector"]!["cloud.google.com/gke-accelerator"]);
        Assert.Equal("nvidia.com/gpu", (string?)pod["tolerations"]![0]!["key"]);
        Assert.Equal("nvidia", (string?)pod["runtimeClassName"]);
        Assert.Equal(600, (int)pod["terminationGracePeriodSeconds"]!);

        var t4 = Find(objects, "Deployment", "salient-worker-t4")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["serve", "--role", "worker", "--models", "mobilenetv2", "--devices", "cuda:0", "--silo-port", "11111", "--gateway-port", "30000"], Strings(t4["args"]));
    }

    [SkippableFact]
    public void Autoscaled_pools_count_the_pending_shards_of_their_models_at_the_coordinator_and_leave_replicas_to_keda()
    {
        var objects = validation.Rendered("gpu-keda");

        var a100 = Trigger(objects, "salient-worker-a100");
        Assert.Equal("metrics-api", (string?)a100["type"]);
        Assert.Equal("http://salient-coordinator.salient.svc:80/metrics/pending?models=resnet50,densenet121", (string?)a100["metadata"]!["url"]);
        Assert.Equal(("json", "pending"), ((string?)a100["metadata"]!["format"], (string?)a100["metadata"]!["valueLocation"]));
        Assert.Equal("4", (string?)a100["metadata"]!["targetValue"]);
        Assert.Equal("2", (string?)Trigger(objects, "salient-worker-t4")["metadata"]!["activationTargetValue"]);
        Assert.Null(Find(objects, "Deployment", "salient-worker-a100")["spec"]!["replicas"]);
        Assert.Equal(2, (int)Find(objects, "Deployment", "salient-worker-cpu")["spec"]!["replicas"]!);
        Assert.DoesNotContain(objects, o => Is(o, "ScaledObject", "salient-worker-cpu"));

        // Counts only: no credentials for KEDA. A pool of any model counts every pending shard.
        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "TriggerAuthentication");
        var existing = validation.Rendered("existing-secrets");
        Assert.EndsWith("/metrics/pending?models=resnet50,vgg16", (string?)Trigger(existing, "salient-worker-gpu")["metadata"]!["url"], StringComparison.Ordinal);
        Assert.EndsWith("/metrics/pending", (string?)Trigger(existing, "salient-worker-spare")["metadata"]!["url"], StringComparison.Ordinal);
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
        Assert.Equal("salient-storage/connection-string", env["SALIENT_STORAGE"]);
        Assert.Equal("salient-blob/path", env["SALIENT_BLOB"]);
        Assert.Equal("salient-api/keys", env["SALIENT_API_KEYS"]);
        Assert.Equal("salient-api/worker (optional)", env["SALIENT_WORKER_TOKEN"]);

        var worker = Find(objects, "Deployment", "salient-worker-gpu")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["SALIENT_BLOB", "SALIENT_STORAGE", "SALIENT_WORKER_TOKEN"], SecretRefs(worker).Keys.Order(StringComparer.Ordinal));
        Assert.Equal("registry.example.com/salient@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            (string?)worker["image"]);
    }

    [SkippableTheory]
    [InlineData("default")]
    [InlineData("gpu-keda")]
    public void Every_pod_is_a_silo_of_the_release_s_cluster_with_the_kubernetes_hosting_it_needs(string values)
    {
        var objects = validation.Rendered(values);
        foreach (var deployment in objects.Where(o => (string?)o["kind"] == "Deployment"))
        {
            var template = deployment["spec"]!["template"]!;
            var container = template["spec"]!["containers"]![0]!;
            var env = container["env"]!.AsArray();
            Assert.Contains(env, e => (string?)e!["name"] == "SALIENT_CLUSTER_ID" && (string?)e["value"] == "salient");
            Assert.Contains(env, e => (string?)e!["name"] == "SALIENT_ADVERTISE" && (string?)e["valueFrom"]!["fieldRef"]!["fieldPath"] == "status.podIP");
            // Orleans' Kubernetes hosting: the pod's name, namespace and IP, and the labels it finds the cluster's pods by.
            Assert.Equal(["metadata.name", "metadata.namespace", "status.podIP"],
                new[] { "POD_NAME", "POD_NAMESPACE", "POD_IP" }.Select(n => (string?)env.Single(e => (string?)e!["name"] == n)!["valueFrom"]!["fieldRef"]!["fieldPath"]));
            Assert.Equal(("salient", "salient"), ((string?)template["metadata"]!["labels"]!["orleans/serviceId"], (string?)template["metadata"]!["labels"]!["orleans/clusterId"]));
            Assert.True((bool)template["spec"]!["automountServiceAccountToken"]!);
            Assert.Equal(["http:8080", "silo:11111", "gateway:30000"], container["ports"]!.AsArray().Select(p => $"{p!["name"]}:{p["containerPort"]}"));
            Assert.Equal("salient/storage", SecretRefs(container)["SALIENT_STORAGE"]);
        }

        Assert.Equal(["get", "list", "watch", "delete", "patch"], Strings(Find(objects, "Role", "salient-silos")["rules"]![0]!["verbs"]));
        var binding = Find(objects, "RoleBinding", "salient-silos");
        Assert.Equal(("ServiceAccount", "salient"), ((string?)binding["subjects"]![0]!["kind"], (string?)binding["subjects"]![0]!["name"]));
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
