namespace TelehealthMessaging.Messaging;

/// <summary>
/// The plaintext payload of a <see cref="SecureMessage"/>: what the encryption layer seals. The set of content types
/// is closed: <see cref="TextContent"/>, <see cref="IntakeSubmissionContent"/>, <see cref="CallbackRequestContent"/>,
/// <see cref="CallbackTransitionContent"/>, <see cref="ReceiptContent"/>, <see cref="AttachmentReferenceContent"/>, and
/// <see cref="UnknownContent"/> for types a newer version of the SDK sent.
/// </summary>
/// <remarks><see cref="ToString"/> names the content type only: content is health data or key material.</remarks>
public abstract record MessageContent
{
    private protected MessageContent()
    {
    }

    /// <summary>The content type as written on the wire in the <c>type</c> field, for example <c>text</c>.</summary>
    public abstract string ContentType { get; }

    /// <summary>Names the content type without any of the content.</summary>
    /// <returns>The runtime type and <see cref="ContentType"/>.</returns>
    // Sealed so that no derived record synthesizes a ToString that prints its members.
    public sealed override string ToString() => $"{GetType().Name} {{ ContentType = {ContentType} }}";
}

// Wire names of the content types; UnknownContent carries any other name.
internal static class ContentTypeNames
{
    public const string Text = "text";
    public const string IntakeSubmission = "intake-submission";
    public const string CallbackRequest = "callback-request";
    public const string CallbackTransition = "callback-transition";
    public const string Receipt = "receipt";
    public const string AttachmentReference = "attachment-reference";

    public static bool IsKnown(string name) =>
        name is Text or IntakeSubmission or CallbackRequest or CallbackTransition or Receipt or AttachmentReference;
}
