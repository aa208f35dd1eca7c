namespace TelehealthMessaging.Intake;

/// <summary>
/// A condition over intake answers that calls for emergency care rather than a message or a callback, such as chest
/// pain together with breathlessness. Conditions use FHIR <c>enableWhen</c> semantics, applied to every enabled
/// answer of the question anywhere in the intake (any instance of a repeating group), with one addition: comparing
/// a coded answer with a number compares the chosen option's score (<c>ordinalValue</c>), so "PHQ-9 item 9 &gt; 0"
/// can be written directly.
/// </summary>
/// <remarks>Immutable and thread-safe. A rule whose questions the form lacks, or whose form URL differs, never fires.</remarks>
public sealed class RedFlagRule
{
    /// <summary>Creates a rule.</summary>
    /// <param name="id">A stable identifier reported in <see cref="EmergencyAdvice.TriggeredRuleIds"/>.</param>
    /// <param name="description">What the rule detects, for clinicians and logs; never patient data.</param>
    /// <param name="conditions">At least one condition over the form's questions.</param>
    /// <param name="behavior">Whether all conditions (the default) or any one must hold.</param>
    /// <param name="formUrl">The canonical URL (without version) of the only form the rule applies to, or <see langword="null"/> for any form that has its questions.</param>
    /// <exception cref="ArgumentException">The id or description is empty, or there are no conditions.</exception>
    public RedFlagRule(string id, string description, IEnumerable<EnableWhenCondition> conditions, EnableBehavior behavior = EnableBehavior.All, string? formUrl = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        ArgumentNullException.ThrowIfNull(conditions);
        EnableWhenCondition[] list = [.. conditions];
        if (list.Length == 0 || Array.Exists(list, c => c is null))
        {
            throw new ArgumentException("A red-flag rule needs at least one condition and no null ones.", nameof(conditions));
        }

        Id = id;
        Description = description;
        Conditions = list.AsReadOnly();
        Behavior = behavior;
        FormUrl = formUrl;
    }

    /// <summary>The rule's stable identifier.</summary>
    public string Id { get; }

    /// <summary>What the rule detects.</summary>
    public string Description { get; }

    /// <summary>The conditions over answers.</summary>
    public IReadOnlyList<EnableWhenCondition> Conditions { get; }

    /// <summary>Whether all conditions or any one must hold.</summary>
    public EnableBehavior Behavior { get; }

    /// <summary>The canonical URL of the only form the rule applies to, or <see langword="null"/> for any form.</summary>
    public string? FormUrl { get; }

    /// <summary>Returns the rule's id.</summary>
    /// <returns>A description without answer values.</returns>
    public override string ToString() => $"RedFlagRule {{ Id = {Id} }}";

    internal bool AppliesTo(IntakeForm form) =>
        (FormUrl is null || string.Equals(FormUrl, form.Url, StringComparison.Ordinal))
        && Conditions.All(c => form.FindItem(c.QuestionLinkId) is { IsQuestion: true });

    internal bool IsMetBy(IntakeForm form, AnswerNode enabledAnswers)
    {
        Func<EnableWhenCondition, bool> holds = c => Holds(c, form.GetItem(c.QuestionLinkId), enabledAnswers);
        return Behavior == EnableBehavior.All ? Conditions.All(holds) : Conditions.Any(holds);
    }

    private static bool Holds(EnableWhenCondition condition, IntakeItem question, AnswerNode root)
    {
        List<IntakeAnswerValue> answers = [];
        Collect(root, question.LinkId, answers);

        // A number against a coded answer compares the chosen option's score.
        if (condition.Answer is IntegerAnswer or DecimalAnswer && condition.Operator != EnableWhenOperator.Exists)
        {
            for (int i = 0; i < answers.Count; i++)
            {
                if (answers[i] is CodingAnswer coding && question.GetOrdinalValue(coding.Value) is decimal score)
                {
                    answers[i] = new DecimalAnswer(score);
                }
            }
        }

        return AnswerComparison.Satisfies(condition, answers);
    }

    private static void Collect(AnswerNode node, string linkId, List<IntakeAnswerValue> into)
    {
        into.AddRange(node.AnswersOf(linkId));
        foreach (List<AnswerNode> instances in node.Instances.Values)
        {
            foreach (AnswerNode instance in instances)
            {
                Collect(instance, linkId, into);
            }
        }
    }
}
