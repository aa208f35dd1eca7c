namespace TelehealthMessaging.Intake;

/// <summary>Ready-made red-flag rules.</summary>
public static class RedFlagRules
{
    /// <summary>The canonical URL of the HL7 SDC PHQ-9 example Questionnaire that <see cref="Phq9SelfHarm"/> targets.</summary>
    public const string SdcPhq9Url = "http://hl7.org/fhir/uv/sdc/Questionnaire/questionnaire-sdc-profile-example-PHQ9";

    /// <summary>
    /// Built-in intake: chest pain reported together with shortness of breath (in any of the reported symptoms),
    /// a possible acute coronary syndrome or pulmonary embolism.
    /// </summary>
    public static RedFlagRule ChestPainWithBreathlessness { get; } = new(
        "chest-pain-with-breathlessness",
        "Chest pain together with shortness of breath.",
        [
            new EnableWhenCondition(TelehealthIntake.LinkIds.SymptomCode, EnableWhenOperator.Equal, new CodingAnswer(TelehealthSymptoms.ChestPain)),
            new EnableWhenCondition(TelehealthIntake.LinkIds.SymptomCode, EnableWhenOperator.Equal, new CodingAnswer(TelehealthSymptoms.ShortnessOfBreath)),
        ],
        EnableBehavior.All,
        TelehealthIntake.Url);

    /// <summary>
    /// PHQ-9 item 9 ("thoughts that you would be better off dead, or of hurting yourself") answered with any score
    /// above 0, on the HL7 SDC PHQ-9 form (item linkId <c>H1/T1/Q9</c>).
    /// </summary>
    public static RedFlagRule Phq9SelfHarm { get; } = Phq9SelfHarmOn(SdcPhq9Url, "H1/T1/Q9");

    /// <summary>All ready-made rules; the default of <see cref="RedFlagOptions.Rules"/>.</summary>
    public static IReadOnlyList<RedFlagRule> Defaults { get; } = [ChestPainWithBreathlessness, Phq9SelfHarm];

    /// <summary>The PHQ-9 item 9 rule for a clinic's own PHQ-9 form, whose item 9 choices carry <c>ordinalValue</c> scores.</summary>
    /// <param name="formUrl">The canonical URL of the clinic's PHQ-9 Questionnaire.</param>
    /// <param name="item9LinkId">The linkId of item 9 in that form.</param>
    /// <returns>A rule that fires when item 9 scores above 0.</returns>
    public static RedFlagRule Phq9SelfHarmOn(string formUrl, string item9LinkId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(formUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(item9LinkId);
        return new RedFlagRule(
            "phq9-item9-self-harm",
            "PHQ-9 item 9 (thoughts of self-harm) scored above 0.",
            [new EnableWhenCondition(item9LinkId, EnableWhenOperator.GreaterThan, new IntegerAnswer(0))],
            EnableBehavior.All,
            formUrl);
    }
}
