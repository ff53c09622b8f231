using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace Salient.Storage.Internal;

/// <summary>The XML bodies of the Blob service operations used: Put Block List, List Blobs, and error answers.</summary>
internal static class AzureXml
{
    /// <summary>A Put Block List body committing <paramref name="blockIds"/> in order, each from whichever list holds its latest upload.</summary>
    internal static byte[] BlockList(IEnumerable<string> blockIds)
    {
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("BlockList", blockIds.Select(id => new XElement("Latest", id))));
        using var writer = new Utf8StringWriter();
        document.Save(writer, SaveOptions.DisableFormatting);
        return Encoding.UTF8.GetBytes(writer.ToString());
    }

    /// <summary>One page of a List Blobs answer: the blobs and the marker of the next page (null on the last).</summary>
    internal static async Task<(List<BlobItem> Blobs, string? NextMarker)> ListPageAsync(Stream body, CancellationToken cancellationToken)
    {
        var root = (await XDocument.LoadAsync(body, LoadOptions.None, cancellationToken).ConfigureAwait(false)).Root
            ?? throw new InvalidDataException("The List Blobs answer is empty.");
        var blobs = root.Element("Blobs")?.Elements("Blob")
            .Select(blob => new BlobItem(
                (string?)blob.Element("Name") ?? throw new InvalidDataException("A blob in the List Blobs answer has no name."),
                long.Parse((string?)blob.Element("Properties")?.Element("Content-Length") ?? "0", CultureInfo.InvariantCulture)))
            .ToList() ?? [];
        var next = (string?)root.Element("NextMarker");
        return (blobs, string.IsNullOrEmpty(next) ? null : next);
    }

    /// <summary>The Code and Message of an error body, or nulls when the body is not one.</summary>
    internal static (string? Code, string? Message) Error(string body)
    {
        try
        {
            var root = XDocument.Parse(body).Root;
            return ((string?)root?.Element("Code"), ((string?)root?.Element("Message"))?.Split('\n')[0].Trim());
        }
        catch (System.Xml.XmlException)
        {
            return (null, null);
        }
    }

    /// <summary>Writes the declaration as utf-8 (a plain StringWriter would declare utf-16).</summary>
    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter()
            : base(CultureInfo.InvariantCulture)
        {
        }

        public override Encoding Encoding => new UTF8Encoding(false);
    }
}
