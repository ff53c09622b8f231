# Sourced by the long-running eng/ scripts: builds the CLI into a private temporary folder (removed
# on exit) and defines `salient` to run it, so rebuilding the tree meanwhile cannot disturb the run.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
dotnet build src/Salient.Cli -c Release --nologo -v quiet -o "$bin" >/dev/null
salient() { dotnet "$bin/salient.dll" "$@"; }
