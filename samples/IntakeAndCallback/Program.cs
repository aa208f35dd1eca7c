// The clinical domain on its own: a patient fills the built-in intake, the SDK checks red flags, the intake is
// submitted and exported as FHIR, and a callback request linked to it runs through its lifecycle.
// (The encrypted client that carries all this between devices is TelehealthClient; see the README.)
using TelehealthMessaging;
using TelehealthMessaging.Callbacks;
using TelehealthMessaging.Fhir;
using TelehealthMessaging.Intake;

TimeProvider clock = TimeProvider.System;
var patient = Participant.Patient(new UserId("patient-42"));
var clinic = Participant.Clinic(new UserId("seoul-clinic"));
var clinician = Participant.Clinician(new UserId("dr-lee"));

// 1. The patient fills the built-in intake without linkIds.
var intake = new TelehealthIntakeBuilder
{
    GivenName = "Minji",
    FamilyName = "Kim",
    BirthDate = new DateOnly(1990, 2, 3),
    Sex = AdministrativeSex.Female,
    Phone = "+82 10-1234-5678",
    PreferredLanguage = "ko",
    ChiefComplaint = "Chest tightness since this morning",
    HasAllergies = false,
    TakesMedications = false,
    Pregnancy = PregnancyStatus.NotPregnant,
    ConsentToTelehealth = true,
    ConsentToDataProcessing = true,
};
intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ChestPain, severity: 6) { Duration = SymptomDuration.Hours(5) });
intake.Symptoms.Add(new SymptomReport(TelehealthSymptoms.ShortnessOfBreath, severity: 5));
IntakeAnswers answers = intake.ToAnswers();

// 2. Validation lists every problem at once, by linkId, never with the values.
IntakeValidationResult validation = answers.Validate();
Console.WriteLine($"Intake valid: {validation.IsValid} ({validation.Problems.Count} problems)");

// 3. Red flags are checked before submission.
EmergencyAdvice? advice = new RedFlagEvaluator(new RedFlagOptions { Region = EmergencyRegion.Korea }).Evaluate(answers);
if (advice is not null)
{
    Console.WriteLine($"Red flag ({string.Join(", ", advice.TriggeredRuleIds)}): call {advice.EmergencyNumber} now.");
}

// 4. Submit (throws IntakeValidationException if invalid) and export as FHIR R4.
IntakeSubmission submission = IntakeSubmission.Create(answers, patient.Id, clock);
string questionnaireResponse = FhirExport.ToQuestionnaireResponse(submission);
string patientResource = FhirExport.ToPatient(submission);
Console.WriteLine($"QuestionnaireResponse: {questionnaireResponse.Length} bytes, Patient: {patientResource.Length} bytes");

// 5. The patient asks to be called back; the red flag raises the request to stat priority.
DateTimeOffset now = clock.GetUtcNow();
CallbackRequest callback = CallbackRequest.Create(
    patient,
    clinic,
    reason: "Please call about my chest tightness",
    phoneNumber: "+82 10-1234-5678",
    CallbackMedium.Phone,
    CallbackPriority.Routine,
    [new CallbackWindow(now.AddMinutes(10), now.AddHours(2))],
    submission.Id,
    clock);
if (advice is not null)
{
    callback = callback.EscalateFor(advice, clock);
}

// 6. A clinician runs the callback through its lifecycle; invalid transitions throw a typed error.
callback = callback.Accept(clinician, clock)
    .Schedule(clinician, new CallbackWindow(now.AddMinutes(15), now.AddMinutes(30)), clock)
    .Start(clinician, clock)
    .Complete(clinician, clock, "Advised to attend the emergency department");
Console.WriteLine($"Callback {callback.State} at priority {callback.Priority} after {callback.History.Count} transitions");
Console.WriteLine($"CommunicationRequest: {FhirExport.ToCommunicationRequest(callback).Length} bytes, Task: {FhirExport.ToTask(callback).Length} bytes");

try
{
    callback.Cancel(patient, "Changed my mind", clock);
}
catch (InvalidCallbackTransitionException ex)
{
    Console.WriteLine($"Refused as expected: {ex.Message}");
}
