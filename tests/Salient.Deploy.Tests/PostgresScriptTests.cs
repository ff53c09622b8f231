using System.Diagnostics;

namespace Salient.Deploy.Tests;

/// <summary>deploy/postgres.sh (and so deploy/cluster.sh) given a folder its server user cannot reach.</summary>
public sealed class PostgresScriptTests
{
    [SkippableFact]
    public async Task A_dir_the_postgres_user_cannot_enter_is_refused_with_the_folder_and_the_fix()
    {
        // Only root hands the server to the `postgres` user; anyone else runs it as themselves.
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "runs as root on Linux only");
        var locked = Path.Combine(Path.GetTempPath(), "salient-locked-" + Guid.NewGuid().ToString("N")[..8]);
        if (OperatingSystem.IsLinux())
        {
            Directory.CreateDirectory(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        try
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])[Fixtures.Path("..", "..", "deploy", "postgres.sh"), "start", "--dir", Path.Combine(locked, "pg"), "--port", "1"])
            {
                start.ArgumentList.Add(argument);
            }

            using var script = Process.Start(start)!;
            var error = script.StandardError.ReadToEndAsync();
            await script.StandardOutput.ReadToEndAsync();
            await script.WaitForExitAsync();

            Assert.Equal(1, script.ExitCode);
            Assert.Contains($"cannot enter {locked} on the way to {Path.Combine(locked, "pg")}", await error, StringComparison.Ordinal);
            Assert.Contains($"chmod o+x {locked}", await error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(locked, "pg")));
        }
        finally
        {
            Directory.Delete(locked, recursive: true);
        }
    }
}
