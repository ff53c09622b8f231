using System.Net.Http.Headers;
using Salient.Storage.Internal;

namespace Salient.Storage.Tests;

public sealed class SharedKeySignerTests
{
    private static readonly SharedKeySigner Signer = new(AzureContainerAddress.DevelopmentAccount, AzureContainerAddress.DevelopmentKey);

    [Fact]
    public void A_put_block_request_is_canonicalized_and_signed_as_the_specification_gives()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "http://127.0.0.1:10000/devstoreaccount1/mycontainer/dir/my%20blob.png?comp=block&blockid=QUJD")
        {
            Content = new ByteArrayContent("hello"u8.ToArray()),
        };
        request.Content.Headers.ContentMD5 = ContentMd5.Hash("hello"u8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2021-08-06");
        request.Headers.TryAddWithoutValidation("X-MS-Date", "Sat, 01 Feb 2025 10:00:00 GMT");
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "  BlockBlob ");

        // Verb, 11 standard headers (Content-Length 5, Content-MD5, Content-Type, If-None-Match set), sorted x-ms- headers,
        // then the resource: account, path as sent (path-style: the account twice), sorted decoded parameters.
        const string expected =
            "PUT\n\n\n5\nXUFAKrxLKna5cZ2REBfFkg==\nimage/png\n\n\n\n*\n\n\n" +
            "x-ms-blob-type:BlockBlob\nx-ms-date:Sat, 01 Feb 2025 10:00:00 GMT\nx-ms-version:2021-08-06\n" +
            "/devstoreaccount1/devstoreaccount1/mycontainer/dir/my%20blob.png\nblockid:QUJD\ncomp:block";
        Assert.Equal(expected, Signer.StringToSign(request));

        // HMAC-SHA256 of the string above under the account key, computed independently with openssl.
        Signer.Authorize(request);
        Assert.Equal("SharedKey devstoreaccount1:nUmEkcW3Y2uR9D9qLyWqo5h6TWnAy7fK4ruY9UI9Etw=", request.Headers.Authorization!.ToString());
    }

    [Fact]
    public void A_list_request_signs_a_zero_length_as_empty_and_decodes_sorted_parameters()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://myaccount.blob.core.windows.net/jobs?restype=container&comp=list&prefix=jobs%2F42%2F&marker=2%21");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Sat, 01 Feb 2025 10:00:00 GMT");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2021-08-06");

        Assert.Equal(
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sat, 01 Feb 2025 10:00:00 GMT\nx-ms-version:2021-08-06\n" +
            "/devstoreaccount1/jobs\ncomp:list\nmarker:2!\nprefix:jobs/42/\nrestype:container",
            Signer.StringToSign(request));
    }
}
