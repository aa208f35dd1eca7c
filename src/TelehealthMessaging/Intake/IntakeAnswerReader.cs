namespace TelehealthMessaging.Intake;

/// <summary>
/// Reads the answers of one scope of an intake: the whole intake, or one instance of a repeating group. Questions
/// are addressed by linkId alone; a question inside a repeating group is read through
/// <see cref="GetGroupInstances"/>.
/// </summary>
public abstract class IntakeAnswerReader
{
    private protected IntakeAnswerReader(IntakeForm form, AnswerNode node)
    {
        Form = form;
        Node = node;
    }

    /// <summary>The form the answers belong to.</summary>
    public IntakeForm Form { get; }

    /// <summary>The repeating group this scope is one instance of, or <see langword="null"/> for the whole intake.</summary>
    public IntakeItem? Group => Node.Group;

    internal AnswerNode Node { get; }

    /// <summary>The answers to a question in this scope, in order; empty when unanswered.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answers.</returns>
    /// <exception cref="ArgumentException">The form has no such question in this scope.</exception>
    public IReadOnlyList<IntakeAnswerValue> GetAnswers(string linkId) => Node.AnswersOf(Question(linkId).LinkId);

    /// <summary>The first answer to a question in this scope.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">The form has no such question in this scope.</exception>
    public IntakeAnswerValue? GetAnswer(string linkId)
    {
        IReadOnlyList<IntakeAnswerValue> answers = GetAnswers(linkId);
        return answers.Count > 0 ? answers[0] : null;
    }

    /// <summary>The first answer to a <c>boolean</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no boolean answers.</exception>
    public bool? GetBoolean(string linkId) => First<BooleanAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>decimal</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no decimal answers.</exception>
    public decimal? GetDecimal(string linkId) => First<DecimalAnswer>(linkId)?.Value;

    /// <summary>The first answer to an <c>integer</c> question (or a choice with integer options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no integer answers.</exception>
    public int? GetInteger(string linkId) => First<IntegerAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>date</c> question (or a choice with date options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no date answers.</exception>
    public DateOnly? GetDate(string linkId) => First<DateAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>dateTime</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no dateTime answers.</exception>
    public DateTimeOffset? GetDateTime(string linkId) => First<DateTimeAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>time</c> question (or a choice with time options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no time answers.</exception>
    public TimeOnly? GetTime(string linkId) => First<TimeAnswer>(linkId)?.Value;

    /// <summary>The first text answer to a <c>string</c>, <c>text</c> or <c>open-choice</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when there is no text answer.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no text answers.</exception>
    public string? GetString(string linkId) => First<StringAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>url</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no URL answers.</exception>
    public Uri? GetUri(string linkId) => First<UriAnswer>(linkId)?.Value;

    /// <summary>The first coded answer to a <c>choice</c> or <c>open-choice</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when there is no coded answer.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no coded answers.</exception>
    public Coding? GetCoding(string linkId) => First<CodingAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>quantity</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no quantities.</exception>
    public Quantity? GetQuantity(string linkId) => First<QuantityAnswer>(linkId)?.Value;

    /// <summary>The first answer to an <c>attachment</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The answer, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no attachments.</exception>
    public AttachmentReference? GetAttachment(string linkId) => First<AttachmentAnswer>(linkId)?.Value;

    /// <summary>The first answer to a <c>reference</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The FHIR reference, or <see langword="null"/> when unanswered.</returns>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no references.</exception>
    public string? GetReference(string linkId) => First<ReferenceAnswer>(linkId)?.Value;

    /// <summary>
    /// The score of the option chosen for a choice question (its <c>ordinalValue</c>), such as 0 to 3 for a PHQ-9
    /// item. With several answers, the first scored one counts.
    /// </summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <returns>The ordinal value, or <see langword="null"/> when unanswered or the chosen option has no score.</returns>
    /// <exception cref="ArgumentException">The form has no such question in this scope.</exception>
    public decimal? GetOrdinalValue(string linkId)
    {
        IntakeItem item = Question(linkId);
        foreach (IntakeAnswerValue answer in Node.AnswersOf(item.LinkId))
        {
            if (item.GetOrdinalValue(answer) is decimal ordinal)
            {
                return ordinal;
            }
        }

        return null;
    }

    /// <summary>Whether an item is enabled by its <c>enableWhen</c> conditions (and those of its ancestors) in this scope.</summary>
    /// <param name="linkId">The item's linkId.</param>
    /// <returns><see langword="true"/> when enabled; disabled items are not required and their answers are not submitted.</returns>
    /// <exception cref="ArgumentException">The form has no such item in this scope.</exception>
    public bool IsEnabled(string linkId) => IntakeRules.IsEnabled(InScope(linkId), Node);

    /// <summary>The instances of a repeating group inside this scope, in order.</summary>
    /// <param name="linkId">The repeating group's linkId.</param>
    /// <returns>A reader per instance.</returns>
    /// <exception cref="ArgumentException">The form has no such repeating group in this scope.</exception>
    public IReadOnlyList<IntakeAnswerReader> GetGroupInstances(string linkId)
    {
        IntakeItem group = RepeatingGroup(linkId);
        return Node.InstancesOf(group.LinkId).Select(CreateInstanceReader).ToList();
    }

    /// <summary>Describes the scope without any answer.</summary>
    /// <returns>The form's canonical, the group and the number of answered questions.</returns>
    public override string ToString() =>
        $"{GetType().Name} {{ Form = {Form.Canonical ?? "(none)"}, Group = {Group?.LinkId ?? "(root)"}, AnsweredQuestions = {Node.Answers.Count(a => a.Value.Count > 0)} }}";

    private protected abstract IntakeAnswerReader CreateInstanceReader(AnswerNode instance);

    private protected IntakeItem InScope(string linkId)
    {
        ArgumentNullException.ThrowIfNull(linkId);
        IntakeItem item = Form.FindItem(linkId) ?? throw new ArgumentException($"The form has no item with linkId '{linkId}'.", nameof(linkId));
        if (item.RepeatingOwner != Group)
        {
            string message = item.RepeatingOwner is IntakeItem owner
                ? $"Item '{linkId}' is inside repeating group '{owner.LinkId}': address it through an instance of that group."
                : $"Item '{linkId}' is not inside repeating group '{Group!.LinkId}': address it from the intake's root.";
            throw new ArgumentException(message, nameof(linkId));
        }

        return item;
    }

    private protected IntakeItem Question(string linkId)
    {
        IntakeItem item = InScope(linkId);
        return item.IsQuestion
            ? item
            : throw new ArgumentException($"Item '{linkId}' is a {IntakeItem.TypeName(item.Type)} item and takes no answers.", nameof(linkId));
    }

    private protected IntakeItem RepeatingGroup(string linkId)
    {
        IntakeItem item = InScope(linkId);
        return item.Type == IntakeItemType.Group && item.Repeats
            ? item
            : throw new ArgumentException($"Item '{linkId}' is not a repeating group.", nameof(linkId));
    }

    private T? First<T>(string linkId)
        where T : IntakeAnswerValue
    {
        IntakeItem item = Question(linkId);
        if (!KindFits<T>(item))
        {
            throw new ArgumentException($"Item '{linkId}' is of type '{IntakeItem.TypeName(item.Type)}' and takes {item.ExpectedKinds}, not {typeof(T).Name}.", nameof(linkId));
        }

        return Node.AnswersOf(item.LinkId).OfType<T>().FirstOrDefault();
    }

    private static bool KindFits<T>(IntakeItem item)
        where T : IntakeAnswerValue
    {
        if (item.Type is IntakeItemType.Choice or IntakeItemType.OpenChoice)
        {
            return item.AcceptsChoice(typeof(T));
        }

        return item.Type switch
        {
            IntakeItemType.Boolean => typeof(T) == typeof(BooleanAnswer),
            IntakeItemType.Decimal => typeof(T) == typeof(DecimalAnswer),
            IntakeItemType.Integer => typeof(T) == typeof(IntegerAnswer),
            IntakeItemType.Date => typeof(T) == typeof(DateAnswer),
            IntakeItemType.DateTime => typeof(T) == typeof(DateTimeAnswer),
            IntakeItemType.Time => typeof(T) == typeof(TimeAnswer),
            IntakeItemType.String or IntakeItemType.Text => typeof(T) == typeof(StringAnswer),
            IntakeItemType.Url => typeof(T) == typeof(UriAnswer),
            IntakeItemType.Attachment => typeof(T) == typeof(AttachmentAnswer),
            IntakeItemType.Reference => typeof(T) == typeof(ReferenceAnswer),
            IntakeItemType.Quantity => typeof(T) == typeof(QuantityAnswer),
            _ => false,
        };
    }
}

// A read-only view, used for submitted intakes.
internal sealed class ReadOnlyIntakeAnswers(IntakeForm form, AnswerNode node) : IntakeAnswerReader(form, node)
{
    private protected override IntakeAnswerReader CreateInstanceReader(AnswerNode instance) => new ReadOnlyIntakeAnswers(Form, instance);
}
