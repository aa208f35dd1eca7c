namespace TelehealthMessaging.Intake;

/// <summary>
/// Reads and writes the answers of one scope: the whole intake (<see cref="IntakeAnswers"/>) or one instance of a
/// repeating group (<see cref="IntakeGroupAnswers"/>). Not thread-safe.
/// </summary>
/// <remarks>
/// Setters check that the item exists in this scope and that the kind of value fits its type, throwing
/// <see cref="ArgumentException"/> otherwise (the message names the linkId and expected type, never the value).
/// Everything else (required, options, lengths, limits) is reported together by <see cref="IntakeAnswers.Validate"/>.
/// </remarks>
public abstract class IntakeAnswerScope : IntakeAnswerReader
{
    private protected IntakeAnswerScope(IntakeForm form, AnswerNode node)
        : base(form, node)
    {
    }

    /// <summary>Replaces the answers to a question with <paramref name="value"/>.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer; its kind must fit the item type.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or the kind of value does not fit it.</exception>
    public void Set(string linkId, IntakeAnswerValue value)
    {
        IntakeItem item = Fitting(linkId, value);
        Node.Answers[item.LinkId] = [value];
    }

    /// <summary>Adds an answer to a repeating question.</summary>
    /// <param name="linkId">The repeating question's linkId.</param>
    /// <param name="value">The answer; its kind must fit the item type.</param>
    /// <exception cref="ArgumentException">
    /// No such question in this scope, it does not repeat (use <see cref="Set"/>), or the kind of value does not fit it.
    /// </exception>
    public void Add(string linkId, IntakeAnswerValue value)
    {
        IntakeItem item = Fitting(linkId, value);
        if (!item.Repeats)
        {
            throw new ArgumentException($"Item '{linkId}' does not repeat: use Set.", nameof(linkId));
        }

        Node.AddAnswer(item.LinkId, value);
    }

    /// <summary>Removes the answers to a question, or every instance of a repeating group.</summary>
    /// <param name="linkId">The question's or repeating group's linkId.</param>
    /// <exception cref="ArgumentException">No such question or repeating group in this scope.</exception>
    public void Clear(string linkId)
    {
        IntakeItem item = InScope(linkId);
        if (item.IsQuestion)
        {
            Node.Answers.Remove(item.LinkId);
        }
        else if (item.Type == IntakeItemType.Group && item.Repeats)
        {
            Node.Instances.Remove(item.LinkId);
        }
        else
        {
            throw new ArgumentException($"Item '{linkId}' is a {IntakeItem.TypeName(item.Type)} item without answers of its own.", nameof(linkId));
        }
    }

    /// <summary>Answers a <c>boolean</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it is not a boolean question.</exception>
    public void SetBoolean(string linkId, bool value) => Set(linkId, new BooleanAnswer(value));

    /// <summary>Answers a <c>decimal</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it is not a decimal question.</exception>
    public void SetDecimal(string linkId, decimal value) => Set(linkId, new DecimalAnswer(value));

    /// <summary>Answers an <c>integer</c> question (or a choice with integer options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no integer.</exception>
    public void SetInteger(string linkId, int value) => Set(linkId, new IntegerAnswer(value));

    /// <summary>Answers a <c>date</c> question (or a choice with date options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no date.</exception>
    public void SetDate(string linkId, DateOnly value) => Set(linkId, new DateAnswer(value));

    /// <summary>Answers a <c>dateTime</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it is not a dateTime question.</exception>
    public void SetDateTime(string linkId, DateTimeOffset value) => Set(linkId, new DateTimeAnswer(value));

    /// <summary>Answers a <c>time</c> question (or a choice with time options).</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no time.</exception>
    public void SetTime(string linkId, TimeOnly value) => Set(linkId, new TimeAnswer(value));

    /// <summary>Answers a <c>string</c> or <c>text</c> question, or gives free text to an <c>open-choice</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no text.</exception>
    public void SetString(string linkId, string value) => Set(linkId, new StringAnswer(value));

    /// <summary>Answers a <c>url</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">An absolute URL.</param>
    /// <exception cref="ArgumentException">No such question in this scope, it is not a url question, or the URL is relative.</exception>
    public void SetUri(string linkId, Uri value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.IsAbsoluteUri)
        {
            throw new ArgumentException("A url answer must be an absolute URL.", nameof(value));
        }

        Set(linkId, new UriAnswer(value));
    }

    /// <summary>Answers a <c>choice</c> or <c>open-choice</c> question with a code.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The code; whether it is one of the options is checked by validation.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it takes no codes.</exception>
    public void SetCoding(string linkId, Coding value) => Set(linkId, new CodingAnswer(value));

    /// <summary>Answers a <c>choice</c> or <c>open-choice</c> question with the coded option that has <paramref name="code"/>.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="code">The option's code.</param>
    /// <exception cref="ArgumentException">
    /// No such question in this scope, or no single coded option has that code (the message leaves the code out).
    /// </exception>
    public void SetChoice(string linkId, string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        IntakeItem item = Question(linkId);
        List<CodingAnswer> matches = item.AnswerOptions
            .Select(o => o.Value)
            .OfType<CodingAnswer>()
            .Where(o => string.Equals(o.Value.Code, code, StringComparison.Ordinal))
            .ToList();
        if (matches.Count != 1)
        {
            throw new ArgumentException(
                matches.Count == 0
                    ? $"Item '{linkId}' has no coded option with the given code."
                    : $"Item '{linkId}' has several coded options with the given code: use SetCoding with a system.",
                nameof(code));
        }

        Set(linkId, matches[0]);
    }

    /// <summary>Answers a <c>quantity</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The answer.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it is not a quantity question.</exception>
    public void SetQuantity(string linkId, Quantity value) => Set(linkId, new QuantityAnswer(value));

    /// <summary>Answers a <c>quantity</c> question in a coded unit, such as one of <see cref="IntakeItem.UnitOptions"/>.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">The numeric value.</param>
    /// <param name="unit">The unit; its display (or code) becomes the unit text.</param>
    /// <exception cref="ArgumentException">No such question in this scope, or it is not a quantity question.</exception>
    public void SetQuantity(string linkId, decimal value, Coding unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        SetQuantity(linkId, new Quantity(value, unit.Display ?? unit.Code, unit.System, unit.Code));
    }

    /// <summary>Answers an <c>attachment</c> question with a reference to stored content.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">Where the attachment is stored.</param>
    /// <exception cref="ArgumentException">No such question in this scope, it is not an attachment question, or the URL is relative.</exception>
    public void SetAttachment(string linkId, AttachmentReference value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Url.IsAbsoluteUri)
        {
            throw new ArgumentException("An attachment URL must be absolute.", nameof(value));
        }

        Set(linkId, new AttachmentAnswer(value));
    }

    /// <summary>Answers a <c>reference</c> question.</summary>
    /// <param name="linkId">The question's linkId.</param>
    /// <param name="value">A FHIR reference such as <c>Practitioner/123</c>.</param>
    /// <exception cref="ArgumentException">No such question in this scope, it takes no reference, or the reference is empty.</exception>
    public void SetReference(string linkId, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Set(linkId, new ReferenceAnswer(value));
    }

    /// <summary>Adds an instance of a repeating group in this scope, filled with the form's initial values.</summary>
    /// <param name="linkId">The repeating group's linkId.</param>
    /// <returns>The new instance, to answer the group's questions through.</returns>
    /// <exception cref="ArgumentException">No such repeating group in this scope.</exception>
    public IntakeGroupAnswers AddGroup(string linkId)
    {
        IntakeItem group = RepeatingGroup(linkId);
        AnswerNode instance = Node.AddInstance(group);
        IntakeAnswers.ApplyInitial(group.Items, instance);
        return new IntakeGroupAnswers(Form, instance, Node.InstancesOf(group.LinkId).Count - 1);
    }

    /// <summary>Returns an existing instance of a repeating group in this scope.</summary>
    /// <param name="linkId">The repeating group's linkId.</param>
    /// <param name="index">The zero-based instance index.</param>
    /// <returns>The instance.</returns>
    /// <exception cref="ArgumentException">No such repeating group in this scope.</exception>
    /// <exception cref="ArgumentOutOfRangeException">There is no instance at <paramref name="index"/>.</exception>
    public IntakeGroupAnswers GetGroup(string linkId, int index)
    {
        IntakeItem group = RepeatingGroup(linkId);
        IReadOnlyList<AnswerNode> instances = Node.InstancesOf(group.LinkId);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, instances.Count);
        return new IntakeGroupAnswers(Form, instances[index], index);
    }

    private protected override IntakeAnswerReader CreateInstanceReader(AnswerNode instance) =>
        new IntakeGroupAnswers(Form, instance, Node.InstancesOf(instance.Group!.LinkId).ToList().IndexOf(instance));

    private IntakeItem Fitting(string linkId, IntakeAnswerValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        IntakeItem item = Question(linkId);
        if (!item.Accepts(value))
        {
            throw new ArgumentException(
                $"Item '{linkId}' is of type '{IntakeItem.TypeName(item.Type)}' and takes {item.ExpectedKinds}, not {value.GetType().Name}.",
                nameof(value));
        }

        return item;
    }
}

/// <summary>The answers of one instance of a repeating group. Not thread-safe.</summary>
public sealed class IntakeGroupAnswers : IntakeAnswerScope
{
    internal IntakeGroupAnswers(IntakeForm form, AnswerNode node, int index)
        : base(form, node)
    {
        Index = index;
    }

    /// <summary>The zero-based position of this instance among its group's instances.</summary>
    public int Index { get; }
}

/// <summary>
/// The answers a patient gives to one <see cref="IntakeForm"/>: typed setters per item type, readers, and
/// <see cref="Validate"/>. Mutable and not thread-safe; submit with <see cref="IntakeSubmission.Create"/>.
/// </summary>
public sealed class IntakeAnswers : IntakeAnswerScope
{
    private IntakeAnswers(IntakeForm form, AnswerNode node)
        : base(form, node)
    {
    }

    /// <summary>Starts answering <paramref name="form"/>, with the form's initial values and initially selected options filled in.</summary>
    /// <param name="form">The form to answer.</param>
    /// <returns>The answers.</returns>
    public static IntakeAnswers Create(IntakeForm form)
    {
        ArgumentNullException.ThrowIfNull(form);
        var root = new AnswerNode(null, null);
        ApplyInitial(form.Items, root);
        return new IntakeAnswers(form, root);
    }

    internal static IntakeAnswers Wrap(IntakeForm form, AnswerNode root) => new(form, root);

    /// <summary>
    /// Checks every enabled item and returns every problem at once. Items disabled by <c>enableWhen</c> are neither
    /// required nor checked.
    /// </summary>
    /// <returns>The result; <see cref="IntakeValidationResult.IsValid"/> when there is no problem.</returns>
    public IntakeValidationResult Validate() => new(IntakeRules.Validate(Form, Node));

    // Initial values of questions in this scope; repeating groups get theirs when an instance is added.
    internal static void ApplyInitial(IReadOnlyList<IntakeItem> items, AnswerNode scope)
    {
        foreach (IntakeItem item in items)
        {
            if (item.Type == IntakeItemType.Group && item.Repeats)
            {
                continue;
            }

            foreach (IntakeAnswerValue value in item.Initial)
            {
                scope.AddAnswer(item.LinkId, value);
            }

            foreach (IntakeAnswerOption option in item.AnswerOptions)
            {
                if (option.InitialSelected)
                {
                    scope.AddAnswer(item.LinkId, option.Value);
                }
            }

            ApplyInitial(item.Items, scope);
        }
    }
}
