namespace TelehealthMessaging.Messaging;

/// <summary>A text message written by a participant.</summary>
public sealed record TextContent : MessageContent
{
    /// <summary>The longest text accepted, in UTF-16 characters.</summary>
    public const int MaxLength = 65_536;

    /// <summary>Creates text content.</summary>
    /// <param name="text">The text; not blank, at most <see cref="MaxLength"/> characters.</param>
    /// <exception cref="ArgumentException"><paramref name="text"/> is blank or too long.</exception>
    public TextContent(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.Length > MaxLength)
        {
            throw new ArgumentException("The text is longer than TextContent.MaxLength.", nameof(text));
        }

        Text = text;
    }

    /// <summary>The text (health data).</summary>
    public string Text { get; }

    /// <inheritdoc />
    public override string ContentType => ContentTypeNames.Text;
}
