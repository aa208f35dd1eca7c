using TelehealthMessaging.Compliance;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Messaging;

namespace TelehealthMessaging;

/// <summary>What <see cref="IntakeClient.SubmitAsync"/> did.</summary>
/// <param name="Submission">The validated submission (typed answers).</param>
/// <param name="ConversationId">The clinic conversation it was sent in.</param>
/// <param name="MessageId">The message carrying it; watch its status.</param>
/// <param name="EmergencyAdvice">Set when a red-flag rule matched: show <see cref="EmergencyAdvice.Message"/> to the patient at once.</param>
public sealed record IntakeSubmissionResult(IntakeSubmission Submission, ConversationId ConversationId, MessageId MessageId, EmergencyAdvice? EmergencyAdvice);

/// <summary>
/// Intake: forms, validation, red flags and submission for patients; the clinic inbox for clinicians. Reached through
/// <see cref="TelehealthClient.Intake"/>.
/// </summary>
public sealed class IntakeClient
{
    private const string Collection = "intakes";
    private readonly TelehealthClient _client;

    internal IntakeClient(TelehealthClient client) => _client = client;

    /// <summary>
    /// The intake forms a clinic accepts: the built-in <see cref="TelehealthIntake.Form"/> and the forms configured in
    /// <see cref="TelehealthClientOptions.IntakeForms"/>. Forms are public documents; apps that host them elsewhere
    /// (a FHIR server) load them with <see cref="IntakeForm.Parse(string)"/> and add them to the options.
    /// </summary>
    /// <param name="clinic">The clinic.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The forms.</returns>
    public Task<IReadOnlyList<IntakeForm>> GetFormsAsync(ClinicId clinic, CancellationToken cancellationToken = default)
    {
        if (clinic.Value is null)
        {
            throw new ArgumentException("The clinic id must not be the default value.", nameof(clinic));
        }

        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<IntakeForm> forms = [TelehealthIntake.Form, .. _client.Options.IntakeForms.Where(f => f.Canonical != TelehealthIntake.Form.Canonical)];
        return Task.FromResult(forms);
    }

    /// <summary>Checks the answers against the form's rules (required, types, ranges, patterns, enableWhen).</summary>
    /// <param name="answers">The answers.</param>
    /// <returns>Every problem found; valid when none.</returns>
#pragma warning disable CA1822 // An instance member, like every operation of the client, so apps reach it through client.Intake.
    public IntakeValidationResult Validate(IntakeAnswers answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        return answers.Validate();
    }
#pragma warning restore CA1822

    /// <summary>Evaluates the red-flag rules on the answers, before submitting them.</summary>
    /// <param name="answers">The answers.</param>
    /// <returns>Advice to seek emergency care now, or <see langword="null"/>.</returns>
    public EmergencyAdvice? CheckRedFlags(IntakeAnswerReader answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        return new RedFlagEvaluator(_client.Options.RedFlags).Evaluate(answers);
    }

    /// <summary>
    /// Validates and submits an intake to a clinic: every triage device of the clinic receives it, end-to-end encrypted.
    /// Returns once it is in the durable outbox.
    /// </summary>
    /// <param name="clinic">The clinic.</param>
    /// <param name="answers">The answers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The submission, its conversation and message, and emergency advice when a red flag matched.</returns>
    /// <exception cref="IntakeValidationException">The answers have problems; nothing is sent.</exception>
    /// <exception cref="ConsentRequiredException">A consent <see cref="TelehealthClientOptions.IntakeConsents"/> requires was not granted or was withdrawn; nothing is sent.</exception>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.NotPermitted"/>: only patients submit intakes. <see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/>: an answer holds a resident registration number and the policy refuses it.</exception>
    public async Task<IntakeSubmissionResult> SubmitAsync(ClinicId clinic, IntakeAnswers answers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (_client.Role != ParticipantRole.Patient)
        {
            throw new TelehealthException(TelehealthErrorCode.NotPermitted, "Only a patient submits an intake.");
        }

        await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (_client.Options.IntakeConsents is IntakeConsentRequirement required)
        {
            await required.EnsureGrantedAsync(_client.Consents, _client.User, cancellationToken).ConfigureAwait(false);
        }

        if (_client.Options.SensitiveIdentifiers is SensitiveIdentifierPolicy policy)
        {
            _client.ReportSensitiveIdentifiers(policy.Apply(answers).Count);
        }

        IntakeSubmission submission = IntakeSubmission.Create(answers, _client.User, _client.Time);
        EmergencyAdvice? advice = CheckRedFlags(submission.Answers);
        Conversation conversation = await _client.Conversations.OpenWithClinicAsync(clinic, cancellationToken).ConfigureAwait(false);
        var content = new IntakeSubmissionContent(submission.Id, submission.Form.Canonical ?? string.Empty, FhirExport.ToQuestionnaireResponse(submission));
        ConversationMessage message = await _client.Messages.SendAsync(conversation.Id, content, null, cancellationToken).ConfigureAwait(false);
        await _client.StoreOwnIntakeAsync(conversation, message.Message, content, cancellationToken).ConfigureAwait(false);
        return new IntakeSubmissionResult(submission, conversation.Id, message.Id, advice);
    }

    /// <summary>The clinic inbox (clinicians): every intake received, newest first, with red flags and claims.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The inbox.</returns>
    public async Task<IReadOnlyList<IntakeInboxItem>> GetInboxAsync(CancellationToken cancellationToken = default)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        List<(ConversationId Conversation, WorkItemRecord Record)> items = await data.ListWorkItemsAsync(Collection, cancellationToken).ConfigureAwait(false);
        return items.Select(i => _client.ToInboxItem(i.Conversation, i.Record)).OrderByDescending(i => i.ReceivedAt).ToList();
    }

    /// <summary>Reads a received intake as typed answers.</summary>
    /// <param name="submissionId">The submission.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The submission.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.NotFound"/>: unknown submission or form.</exception>
    public async Task<IntakeSubmission> GetSubmissionAsync(IntakeSubmissionId submissionId, CancellationToken cancellationToken = default)
    {
        IntakeSubmissionContent content = await GetContentAsync(submissionId, cancellationToken).ConfigureAwait(false);
        IntakeForm form = FindForm(content.QuestionnaireCanonical)
            ?? throw new TelehealthException(TelehealthErrorCode.NotFound, "The intake's form is not configured on this device (TelehealthClientOptions.IntakeForms).");
        IntakeSubmission submission = FhirImport.FromQuestionnaireResponse(content.QuestionnaireResponseJson, form);
        await _client.AuditAsync(AuditAction.IntakeViewed, [AuditSubject.Of(submissionId)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return submission;
    }

    /// <summary>Reads a received intake as a FHIR R4 QuestionnaireResponse (JSON), as the patient's device exported it.</summary>
    /// <param name="submissionId">The submission.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The QuestionnaireResponse JSON.</returns>
    public async Task<string> GetQuestionnaireResponseAsync(IntakeSubmissionId submissionId, CancellationToken cancellationToken = default)
    {
        string json = (await GetContentAsync(submissionId, cancellationToken).ConfigureAwait(false)).QuestionnaireResponseJson;
        await _client.AuditAsync(AuditAction.IntakeExported, [AuditSubject.Of(submissionId)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return json;
    }

    /// <summary>Claims an intake for this clinician. The first claim wins; the others see who claimed it.</summary>
    /// <param name="submissionId">The submission.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The winning claim (<see cref="ClaimResult.IsOwn"/> tells whether it is this user's).</returns>
    public async Task<ClaimResult> ClaimAsync(IntakeSubmissionId submissionId, CancellationToken cancellationToken = default)
    {
        ConversationId conversation = await FindConversationAsync(submissionId, cancellationToken).ConfigureAwait(false);
        return await _client.ClaimWorkItemAsync(conversation, Collection, submissionId.Value, cancellationToken).ConfigureAwait(false);
    }

    internal IntakeForm? FindForm(string canonical) =>
        canonical == TelehealthIntake.Form.Canonical ? TelehealthIntake.Form : _client.Options.IntakeForms.FirstOrDefault(f => f.Canonical == canonical);

    private async Task<IntakeSubmissionContent> GetContentAsync(IntakeSubmissionId submissionId, CancellationToken cancellationToken)
    {
        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        ConversationId conversation = await FindConversationAsync(submissionId, cancellationToken).ConfigureAwait(false);
        WorkItemRecord record = await data.GetWorkItemAsync(conversation, Collection, submissionId.Value, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound();
        return (IntakeSubmissionContent)MessageSerializer.Deserialize(record.Message).Content;
    }

    private async Task<ConversationId> FindConversationAsync(IntakeSubmissionId submissionId, CancellationToken cancellationToken)
    {
        if (submissionId.Value is null)
        {
            throw new ArgumentException("The submission id must not be the default value.", nameof(submissionId));
        }

        LocalData data = await _client.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await data.FindWorkItemConversationAsync(Collection, submissionId.Value, cancellationToken).ConfigureAwait(false) ?? throw NotFound();
    }

    private static TelehealthException NotFound() => new(TelehealthErrorCode.NotFound, "No intake submission with that id is known to this device.");
}
