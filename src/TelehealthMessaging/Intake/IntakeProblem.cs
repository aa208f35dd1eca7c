namespace TelehealthMessaging.Intake;

/// <summary>What is wrong with an answer or a QuestionnaireResponse item.</summary>
public enum IntakeProblemCode
{
    /// <summary>An enabled required item has no answer (a required group: no answered item inside).</summary>
    Required,

    /// <summary>An item that does not repeat has several answers, or appears several times in a response.</summary>
    TooManyAnswers,

    /// <summary>A text answer is longer than the item's <c>maxLength</c>.</summary>
    MaxLengthExceeded,

    /// <summary>An answer is below the item's <c>minValue</c>.</summary>
    BelowMinimum,

    /// <summary>An answer is above the item's <c>maxValue</c>.</summary>
    AboveMaximum,

    /// <summary>A quantity answer is not in one of the item's unit options, or in a unit that cannot be compared with its limits.</summary>
    WrongUnit,

    /// <summary>An answer to a choice item is not one of its options.</summary>
    NotAnOption,

    /// <summary>An answer's value type does not fit the item type, or the value is malformed.</summary>
    WrongType,

    /// <summary>A response item has a linkId the form does not define.</summary>
    UnknownItem,

    /// <summary>A response item is not nested where the form places it.</summary>
    InvalidNesting,

    /// <summary>A response names a different Questionnaire, or none.</summary>
    QuestionnaireMismatch,

    /// <summary>A text answer does not match the item's <c>regex</c> extension.</summary>
    PatternMismatch,
}

/// <summary>One problem found while validating answers or importing a QuestionnaireResponse.</summary>
/// <param name="Path">
/// Where the problem is: the item's linkId, preceded by each enclosing repeating group instance as
/// <c>linkId[index]/</c> with zero-based indices (for example <c>medications[1]/dose</c>). Non-repeating groups are not
/// part of the path because linkIds are unique within a form. Problems of the response itself use the element name
/// (<c>questionnaire</c>).
/// </param>
/// <param name="Code">What is wrong, in a form code can branch on.</param>
/// <param name="Message">A human-readable description that names linkIds only, never an answer value.</param>
public sealed record IntakeProblem(string Path, IntakeProblemCode Code, string Message);

/// <summary>The outcome of <see cref="IntakeAnswers.Validate"/>: every problem at once.</summary>
public sealed class IntakeValidationResult
{
    internal IntakeValidationResult(IReadOnlyList<IntakeProblem> problems) => Problems = problems;

    /// <summary>Whether the answers have no problem.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>Every problem found, in form order; empty when valid.</summary>
    public IReadOnlyList<IntakeProblem> Problems { get; }

    /// <summary>Summarizes the result by count.</summary>
    /// <returns>For example <c>IntakeValidationResult { IsValid = False, Problems = 2 }</c>.</returns>
    public override string ToString() => $"IntakeValidationResult {{ IsValid = {IsValid}, Problems = {Problems.Count} }}";
}

/// <summary>
/// Answers or an imported QuestionnaireResponse failed validation (<see cref="TelehealthErrorCode.ValidationFailed"/>).
/// <see cref="Problems"/> lists every problem; the message counts them and names their paths only.
/// </summary>
public sealed class IntakeValidationException : TelehealthException
{
    /// <summary>Creates the exception for <paramref name="problems"/>.</summary>
    /// <param name="problems">At least one problem.</param>
    public IntakeValidationException(IReadOnlyList<IntakeProblem> problems)
        : base(TelehealthErrorCode.ValidationFailed, Describe(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<IntakeProblem> Problems { get; }

    private static string Describe(IReadOnlyList<IntakeProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0)
        {
            throw new ArgumentException("A validation exception needs at least one problem.", nameof(problems));
        }

        return $"The intake has {problems.Count} problem{(problems.Count == 1 ? string.Empty : "s")} at: {string.Join(", ", problems.Select(p => p.Path).Distinct(StringComparer.Ordinal))}.";
    }
}
