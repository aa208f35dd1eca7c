namespace TelehealthMessaging.Intake;

/// <summary>The status of a submitted intake (the QuestionnaireResponse status).</summary>
public enum IntakeSubmissionStatus
{
    /// <summary><c>completed</c>: the patient finished and submitted the intake.</summary>
    Completed,

    /// <summary><c>amended</c>: the intake was changed after it was completed.</summary>
    Amended,
}

/// <summary>
/// A submitted intake: an immutable snapshot of the answers to the enabled items of a form. Thread-safe. Export it
/// with <see cref="Fhir.FhirExport.ToQuestionnaireResponse"/>; read a received one with
/// <see cref="Fhir.FhirImport.FromQuestionnaireResponse"/>.
/// </summary>
public sealed class IntakeSubmission
{
    internal IntakeSubmission(
        IntakeSubmissionId id,
        IntakeForm form,
        DateTimeOffset authored,
        IntakeSubmissionStatus status,
        string? subject,
        string? author,
        AnswerNode answers)
    {
        Id = id;
        Form = form;
        Authored = authored;
        Status = status;
        Subject = subject;
        Author = author;
        Root = answers;
        Answers = new ReadOnlyIntakeAnswers(form, answers);
    }

    /// <summary>The submission's identifier (the QuestionnaireResponse id).</summary>
    public IntakeSubmissionId Id { get; }

    /// <summary>The form that was answered.</summary>
    public IntakeForm Form { get; }

    /// <summary>When the answers were submitted.</summary>
    public DateTimeOffset Authored { get; }

    /// <summary>Whether the intake is completed or amended.</summary>
    public IntakeSubmissionStatus Status { get; }

    /// <summary>
    /// Whom the answers are about, as a FHIR reference (<c>Patient/{id}</c> when created here; verbatim when imported),
    /// or <see langword="null"/> when an imported response named none.
    /// </summary>
    public string? Subject { get; }

    /// <summary>Who gave the answers, as a FHIR reference; the subject when created here, verbatim when imported.</summary>
    public string? Author { get; }

    /// <summary>The submitted answers (only those of enabled items), read-only.</summary>
    public IntakeAnswerReader Answers { get; }

    internal AnswerNode Root { get; }

    /// <summary>
    /// Validates <paramref name="answers"/> and snapshots the answers of enabled items as a completed intake by the
    /// patient <paramref name="subject"/>. Later changes to <paramref name="answers"/> do not affect the submission.
    /// </summary>
    /// <param name="answers">The answers to submit.</param>
    /// <param name="subject">The patient who answered (becomes <c>Patient/{id}</c> as subject and author).</param>
    /// <param name="timeProvider">The clock that stamps <see cref="Authored"/>.</param>
    /// <param name="id">The submission id; a new one when omitted.</param>
    /// <returns>The submission.</returns>
    /// <exception cref="IntakeValidationException">The answers have problems; every one is listed.</exception>
    public static IntakeSubmission Create(IntakeAnswers answers, UserId subject, TimeProvider timeProvider, IntakeSubmissionId? id = null)
    {
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (subject.Value is null)
        {
            throw new ArgumentException("The subject must be a valid user id, not the default value.", nameof(subject));
        }

        if (id is { Value: null })
        {
            throw new ArgumentException("The id must be a valid submission id, not the default value.", nameof(id));
        }

        List<IntakeProblem> problems = IntakeRules.Validate(answers.Form, answers.Node);
        if (problems.Count > 0)
        {
            throw new IntakeValidationException(problems);
        }

        string patient = "Patient/" + subject.Value;
        return new IntakeSubmission(
            id ?? IntakeSubmissionId.New(),
            answers.Form,
            timeProvider.GetUtcNow(),
            IntakeSubmissionStatus.Completed,
            patient,
            patient,
            IntakeRules.EnabledCopy(answers.Form, answers.Node));
    }

    /// <summary>Names the submission by id, form and status only.</summary>
    /// <returns>For example <c>IntakeSubmission { Id = 1f.., Form = http://example.org/q|1, Status = Completed }</c>.</returns>
    public override string ToString() => $"IntakeSubmission {{ Id = {Id}, Form = {Form.Canonical ?? "(none)"}, Status = {Status} }}";
}
