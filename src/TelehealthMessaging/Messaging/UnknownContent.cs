namespace TelehealthMessaging.Messaging;

/// <summary>
/// Content of a type this version of the SDK does not know, probably sent by a newer version. It is kept as received
/// so that an app can show a placeholder ("update the app to see this message") and re-serializing keeps it intact.
/// </summary>
public sealed record UnknownContent : MessageContent
{
    internal UnknownContent(string contentType, string json)
    {
        UnknownContentType = contentType;
        Json = json;
    }

    /// <summary>The content's JSON object as received, including its <c>type</c> field (may be health data).</summary>
    public string Json { get; }

    /// <inheritdoc />
    public override string ContentType => UnknownContentType;

    private string UnknownContentType { get; }
}
