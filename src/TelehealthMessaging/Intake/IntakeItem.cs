namespace TelehealthMessaging.Intake;

/// <summary>One item of an <see cref="IntakeForm"/> (FHIR R4 <c>Questionnaire.item</c>). Immutable.</summary>
public sealed class IntakeItem
{
    internal IntakeItem(
        string linkId,
        IntakeItemType type,
        string? text,
        string? prefix,
        string? definition,
        bool required,
        bool repeats,
        bool readOnly,
        bool hidden,
        int? maxLength,
        IReadOnlyList<Coding> codes,
        IReadOnlyList<IntakeAnswerOption> answerOptions,
        string? answerValueSet,
        IReadOnlyList<IntakeAnswerValue> initial,
        IReadOnlyList<EnableWhenCondition> enableWhen,
        EnableBehavior enableBehavior,
        IntakeAnswerValue? minValue,
        IntakeAnswerValue? maxValue,
        IReadOnlyList<Coding> unitOptions,
        string? pattern,
        IReadOnlyList<IntakeItem> items)
    {
        LinkId = linkId;
        Type = type;
        Text = text;
        Prefix = prefix;
        Definition = definition;
        Required = required;
        Repeats = repeats;
        ReadOnly = readOnly;
        Hidden = hidden;
        MaxLength = maxLength;
        Codes = codes.ToList().AsReadOnly();
        AnswerOptions = answerOptions.ToList().AsReadOnly();
        AnswerValueSet = answerValueSet;
        Initial = initial.ToList().AsReadOnly();
        EnableWhen = enableWhen.ToList().AsReadOnly();
        EnableBehavior = enableBehavior;
        MinValue = minValue;
        MaxValue = maxValue;
        UnitOptions = unitOptions.ToList().AsReadOnly();
        Pattern = pattern;
        _regex = pattern is null ? null : CompilePattern(pattern);
        Items = items.ToList().AsReadOnly();
        foreach (IntakeItem child in items)
        {
            child.Parent = this;
        }
    }

    /// <summary>The item's identifier, unique within the form.</summary>
    public string LinkId { get; }

    /// <summary>What kind of answer the item takes, or whether it is a group or display text.</summary>
    public IntakeItemType Type { get; }

    /// <summary>The question or heading as the form words it, if any.</summary>
    public string? Text { get; }

    /// <summary>A label shown before the text (such as <c>1.</c>), if any.</summary>
    public string? Prefix { get; }

    /// <summary>The element definition the item maps to (<c>item.definition</c>), if any.</summary>
    public string? Definition { get; }

    /// <summary>Whether an answer is needed while the item is enabled.</summary>
    public bool Required { get; }

    /// <summary>Whether the item takes several answers (a question) or several instances (a group).</summary>
    public bool Repeats { get; }

    /// <summary>Whether the form marks the item as not editable by the patient (answers are still accepted, such as calculated ones).</summary>
    public bool ReadOnly { get; }

    /// <summary>
    /// The regular expression a text answer must match in full (the <c>regex</c> extension), if any. Matching is
    /// culture-invariant and bounded in time, so a hostile form cannot stall validation.
    /// </summary>
    public string? Pattern { get; }

    /// <summary>Whether the form hides the item from the patient (the <c>questionnaire-hidden</c> extension).</summary>
    public bool Hidden { get; }

    /// <summary>The maximum number of characters of a text answer, if limited.</summary>
    public int? MaxLength { get; }

    /// <summary>Codes for the question itself (<c>item.code</c>), such as a LOINC code.</summary>
    public IReadOnlyList<Coding> Codes { get; }

    /// <summary>
    /// The permitted answers: <c>answerOption</c>, or the concepts of a contained value set named by
    /// <see cref="AnswerValueSet"/>. Empty when the item has none or names an external value set.
    /// </summary>
    public IReadOnlyList<IntakeAnswerOption> AnswerOptions { get; }

    /// <summary>
    /// The canonical of the value set of permitted answers, if given. When it names an external value set,
    /// <see cref="AnswerOptions"/> is empty and coded answers are accepted without a membership check.
    /// </summary>
    public string? AnswerValueSet { get; }

    /// <summary>The values <see cref="IntakeAnswers.Create"/> fills in (<c>item.initial</c>).</summary>
    public IReadOnlyList<IntakeAnswerValue> Initial { get; }

    /// <summary>The conditions under which the item is enabled; empty when always enabled.</summary>
    public IReadOnlyList<EnableWhenCondition> EnableWhen { get; }

    /// <summary>How <see cref="EnableWhen"/> conditions combine.</summary>
    public EnableBehavior EnableBehavior { get; }

    /// <summary>The smallest permitted answer (the <c>minValue</c> extension), if any.</summary>
    public IntakeAnswerValue? MinValue { get; }

    /// <summary>The largest permitted answer (the <c>maxValue</c> extension), if any.</summary>
    public IntakeAnswerValue? MaxValue { get; }

    /// <summary>
    /// The units a <c>quantity</c> answer may use (the <c>questionnaire-unitOption</c> extension); empty when any unit
    /// is allowed.
    /// </summary>
    public IReadOnlyList<Coding> UnitOptions { get; }

    /// <summary>The nested items, in form order.</summary>
    public IReadOnlyList<IntakeItem> Items { get; }

    /// <summary>The item this one is nested in, or <see langword="null"/> at the top level.</summary>
    public IntakeItem? Parent { get; private set; }

    /// <summary>Whether the item takes answers (it is neither a group nor display text).</summary>
    public bool IsQuestion => Type is not (IntakeItemType.Group or IntakeItemType.Display);

    // Every item of the form by linkId, set once by the reader: enableWhen may read questions anywhere in the form.
    internal IReadOnlyDictionary<string, IntakeItem> FormItems { get; set; } = new Dictionary<string, IntakeItem>();

    // The nearest enclosing repeating group: answers to this item are kept per instance of that group.
    internal IntakeItem? RepeatingOwner
    {
        get
        {
            for (IntakeItem? p = Parent; p is not null; p = p.Parent)
            {
                if (p.Type == IntakeItemType.Group && p.Repeats)
                {
                    return p;
                }
            }

            return null;
        }
    }

    /// <summary>Finds the option that <paramref name="value"/> selects (codings match by system and code).</summary>
    /// <param name="value">An answer to this item.</param>
    /// <returns>The option, or <see langword="null"/> when the value is not one of <see cref="AnswerOptions"/>.</returns>
    public IntakeAnswerOption? FindOption(IntakeAnswerValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (IntakeAnswerOption option in AnswerOptions)
        {
            if (AnswerComparison.AreEqual(option.Value, value))
            {
                return option;
            }
        }

        return null;
    }

    /// <summary>
    /// The score the form assigns to the option <paramref name="value"/> selects (<c>ordinalValue</c>/<c>itemWeight</c>),
    /// such as 0 to 3 for a PHQ-9 answer.
    /// </summary>
    /// <param name="value">An answer to this item.</param>
    /// <returns>The ordinal value, or <see langword="null"/> when the value is no option or the option has none.</returns>
    public decimal? GetOrdinalValue(IntakeAnswerValue value) => FindOption(value)?.OrdinalValue;

    /// <summary>The score of the option with <paramref name="coding"/>; see <see cref="GetOrdinalValue(IntakeAnswerValue)"/>.</summary>
    /// <param name="coding">A coded answer to this item.</param>
    /// <returns>The ordinal value, or <see langword="null"/> when the coding is no option or the option has none.</returns>
    public decimal? GetOrdinalValue(Coding coding)
    {
        ArgumentNullException.ThrowIfNull(coding);
        return GetOrdinalValue(new CodingAnswer(coding));
    }

    /// <summary>Names the item by linkId and type; the text is left out to keep output short.</summary>
    /// <returns>For example <c>IntakeItem { LinkId = q1, Type = Choice }</c>.</returns>
    public override string ToString() => $"IntakeItem {{ LinkId = {LinkId}, Type = {Type} }}";

    internal static string TypeName(IntakeItemType type) => type switch
    {
        IntakeItemType.Group => "group",
        IntakeItemType.Display => "display",
        IntakeItemType.Boolean => "boolean",
        IntakeItemType.Decimal => "decimal",
        IntakeItemType.Integer => "integer",
        IntakeItemType.Date => "date",
        IntakeItemType.DateTime => "dateTime",
        IntakeItemType.Time => "time",
        IntakeItemType.String => "string",
        IntakeItemType.Text => "text",
        IntakeItemType.Url => "url",
        IntakeItemType.Choice => "choice",
        IntakeItemType.OpenChoice => "open-choice",
        IntakeItemType.Attachment => "attachment",
        IntakeItemType.Reference => "reference",
        IntakeItemType.Quantity => "quantity",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    // Which answer kinds an item of this type takes. Choice items take the kinds of their options.
    internal bool Accepts(IntakeAnswerValue value) => Type switch
    {
        IntakeItemType.Boolean => value is BooleanAnswer,
        IntakeItemType.Decimal => value is DecimalAnswer,
        IntakeItemType.Integer => value is IntegerAnswer,
        IntakeItemType.Date => value is DateAnswer,
        IntakeItemType.DateTime => value is DateTimeAnswer,
        IntakeItemType.Time => value is TimeAnswer,
        IntakeItemType.String or IntakeItemType.Text => value is StringAnswer,
        IntakeItemType.Url => value is UriAnswer,
        IntakeItemType.Choice or IntakeItemType.OpenChoice => AcceptsChoice(value.GetType()),
        IntakeItemType.Attachment => value is AttachmentAnswer,
        IntakeItemType.Reference => value is ReferenceAnswer,
        IntakeItemType.Quantity => value is QuantityAnswer,
        _ => false,
    };

    internal string ExpectedKinds => Type switch
    {
        IntakeItemType.Boolean => nameof(BooleanAnswer),
        IntakeItemType.Decimal => nameof(DecimalAnswer),
        IntakeItemType.Integer => nameof(IntegerAnswer),
        IntakeItemType.Date => nameof(DateAnswer),
        IntakeItemType.DateTime => nameof(DateTimeAnswer),
        IntakeItemType.Time => nameof(TimeAnswer),
        IntakeItemType.String or IntakeItemType.Text => nameof(StringAnswer),
        IntakeItemType.Url => nameof(UriAnswer),
        IntakeItemType.Choice => "CodingAnswer (or the kind of its answer options)",
        IntakeItemType.OpenChoice => "CodingAnswer or StringAnswer (or the kind of its answer options)",
        IntakeItemType.Attachment => nameof(AttachmentAnswer),
        IntakeItemType.Reference => nameof(ReferenceAnswer),
        IntakeItemType.Quantity => nameof(QuantityAnswer),
        _ => "no answer",
    };

    // Codings always (an external value set gives no options to compare kinds with), free text for open-choice, and
    // otherwise the kinds the options have (answerOption value[x] allows integer, date, time, string and Reference).
    internal bool AcceptsChoice(Type kind) =>
        kind == typeof(CodingAnswer)
        || (Type == IntakeItemType.OpenChoice && kind == typeof(StringAnswer))
        || (IsOptionKind(kind) && AnswerOptions.Any(o => o.Value.GetType() == kind));

    private static bool IsOptionKind(Type kind) =>
        kind == typeof(CodingAnswer) || kind == typeof(StringAnswer) || kind == typeof(IntegerAnswer)
        || kind == typeof(DateAnswer) || kind == typeof(TimeAnswer) || kind == typeof(ReferenceAnswer);

    private readonly System.Text.RegularExpressions.Regex? _regex;

    internal bool HasValidPattern => _regex is not null;

    // False when the text does not match, or when matching takes longer than the bound (treated as a mismatch).
    internal bool MatchesPattern(string text)
    {
        if (_regex is null)
        {
            return true;
        }

        try
        {
            return _regex.IsMatch(text);
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static System.Text.RegularExpressions.Regex? CompilePattern(string pattern)
    {
        try
        {
            return new System.Text.RegularExpressions.Regex(
                $"^(?:{pattern})$",
                System.Text.RegularExpressions.RegexOptions.CultureInvariant,
                TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
