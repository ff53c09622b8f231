using Npgsql;
using NpgsqlTypes;

namespace Salient.Cluster.Internal;

/// <summary>Builds parameterised commands; <c>null</c> values become SQL NULL.</summary>
internal static class Commands
{
    public static NpgsqlCommand Command(this NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null) =>
        new(sql, connection, transaction);

    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    /// <summary>A jsonb parameter from JSON text.</summary>
    public static NpgsqlCommand WithJson(this NpgsqlCommand command, string name, string? json)
    {
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = (object?)json ?? DBNull.Value });
        return command;
    }

    /// <summary>A jsonb[] parameter from JSON texts.</summary>
    public static NpgsqlCommand WithJsonArray(this NpgsqlCommand command, string name, string[] json)
    {
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = json });
        return command;
    }
}
