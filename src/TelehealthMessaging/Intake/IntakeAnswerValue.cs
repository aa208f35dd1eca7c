namespace TelehealthMessaging.Intake;

/// <summary>
/// One typed answer value (FHIR <c>QuestionnaireResponse.item.answer.value[x]</c>). Each kind is a sealed record, so
/// values compare by content.
/// </summary>
/// <remarks>
/// An answer is health data: <see cref="ToString"/> of every kind names the kind only and never the value.
/// </remarks>
public abstract record IntakeAnswerValue
{
    private protected IntakeAnswerValue()
    {
    }

    /// <summary>Names the kind of answer without its value.</summary>
    /// <returns>For example <c>StringAnswer { &lt;redacted&gt; }</c>.</returns>
    public sealed override string ToString() => GetType().Name + " { <redacted> }";
}

/// <summary>An answer to a <c>boolean</c> item.</summary>
/// <param name="Value">The answer.</param>
public sealed record BooleanAnswer(bool Value) : IntakeAnswerValue;

/// <summary>An answer to a <c>decimal</c> item.</summary>
/// <param name="Value">The answer, with the precision it was given in.</param>
public sealed record DecimalAnswer(decimal Value) : IntakeAnswerValue;

/// <summary>An answer to an <c>integer</c> item, or an integer answer option.</summary>
/// <param name="Value">The answer.</param>
public sealed record IntegerAnswer(int Value) : IntakeAnswerValue;

/// <summary>An answer to a <c>date</c> item, or a date answer option.</summary>
/// <param name="Value">The answer.</param>
public sealed record DateAnswer(DateOnly Value) : IntakeAnswerValue;

/// <summary>An answer to a <c>dateTime</c> item. FHIR requires a zone when a time is given.</summary>
/// <param name="Value">The answer.</param>
public sealed record DateTimeAnswer(DateTimeOffset Value) : IntakeAnswerValue;

/// <summary>An answer to a <c>time</c> item, or a time answer option.</summary>
/// <param name="Value">The answer.</param>
public sealed record TimeAnswer(TimeOnly Value) : IntakeAnswerValue;

/// <summary>An answer to a <c>string</c> or <c>text</c> item, a string answer option, or free text for <c>open-choice</c>.</summary>
/// <param name="Value">The answer.</param>
public sealed record StringAnswer(string Value) : IntakeAnswerValue
{
    /// <summary>The answer.</summary>
    public string Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>An answer to a <c>url</c> item.</summary>
/// <param name="Value">An absolute URL.</param>
public sealed record UriAnswer(Uri Value) : IntakeAnswerValue
{
    /// <summary>An absolute URL.</summary>
    public Uri Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>A coded answer to a <c>choice</c> or <c>open-choice</c> item.</summary>
/// <param name="Value">The chosen code.</param>
public sealed record CodingAnswer(Coding Value) : IntakeAnswerValue
{
    /// <summary>The chosen code.</summary>
    public Coding Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>An answer to a <c>quantity</c> item.</summary>
/// <param name="Value">The measured amount.</param>
public sealed record QuantityAnswer(Quantity Value) : IntakeAnswerValue
{
    /// <summary>The measured amount.</summary>
    public Quantity Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>An answer to an <c>attachment</c> item: a reference to content stored elsewhere, never the content.</summary>
/// <param name="Value">Where the attachment is and what it is.</param>
public sealed record AttachmentAnswer(AttachmentReference Value) : IntakeAnswerValue
{
    /// <summary>Where the attachment is and what it is.</summary>
    public AttachmentReference Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>An answer to a <c>reference</c> item, or a reference answer option.</summary>
/// <param name="Value">A FHIR reference such as <c>Practitioner/123</c>.</param>
public sealed record ReferenceAnswer(string Value) : IntakeAnswerValue
{
    /// <summary>A FHIR reference such as <c>Practitioner/123</c>.</summary>
    public string Value { get; init; } = Value ?? throw new ArgumentNullException(nameof(Value));
}

/// <summary>A measured amount (FHIR <c>Quantity</c>).</summary>
/// <param name="Value">The numeric value.</param>
/// <param name="Unit">The unit as displayed, if any.</param>
/// <param name="System">The system that defines <paramref name="Code"/> (usually UCUM), if any.</param>
/// <param name="Code">The coded unit, if any.</param>
public sealed record Quantity(decimal Value, string? Unit = null, string? System = null, string? Code = null)
{
    /// <summary>
    /// <see langword="true"/> when both quantities are in the same unit: the same system and code where both are
    /// coded, otherwise the same unit text.
    /// </summary>
    /// <param name="other">The quantity to compare with.</param>
    /// <returns>Whether the values of both quantities can be compared.</returns>
    public bool HasSameUnit(Quantity other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Code is not null && other.Code is not null)
        {
            return string.Equals(Code, other.Code, StringComparison.Ordinal) && string.Equals(System, other.System, StringComparison.Ordinal);
        }

        return string.Equals(Unit, other.Unit, StringComparison.Ordinal);
    }

    /// <summary>Describes the quantity without its value: a measurement is health data.</summary>
    /// <returns><c>Quantity { &lt;redacted&gt; }</c>.</returns>
    public override string ToString() => "Quantity { <redacted> }";
}

/// <summary>
/// A reference to an attachment stored outside the intake (FHIR <c>Attachment</c> without inline <c>data</c>): the
/// SDK never carries attachment bytes inside answers.
/// </summary>
/// <param name="Url">Where the content can be fetched.</param>
/// <param name="ContentType">The MIME type, if known.</param>
/// <param name="Size">The number of bytes, if known.</param>
/// <param name="Hash">The SHA-1 of the content, base64-encoded, if known (FHIR's definition).</param>
/// <param name="Title">A label to display, if any.</param>
public sealed record AttachmentReference(Uri Url, string? ContentType = null, long? Size = null, string? Hash = null, string? Title = null)
{
    /// <summary>Where the content can be fetched.</summary>
    public Uri Url { get; init; } = Url ?? throw new ArgumentNullException(nameof(Url));

    /// <summary>Describes the attachment without its location or title: both can reveal health data.</summary>
    /// <returns><c>AttachmentReference { &lt;redacted&gt; }</c>.</returns>
    public override string ToString() => "AttachmentReference { <redacted> }";
}
