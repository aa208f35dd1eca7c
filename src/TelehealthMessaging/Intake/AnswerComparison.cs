namespace TelehealthMessaging.Intake;

// Comparison per FHIR: numbers by value (integer and decimal mix), dates and times chronologically, quantities only
// in the same unit, codings by system and code (Coding.Matches), strings ordinally. Booleans, codings, URLs,
// references and attachments are only equal or not.
internal static class AnswerComparison
{
    public static bool AreEqual(IntakeAnswerValue a, IntakeAnswerValue b) => Compare(a, b) == 0;

    // null: the values cannot be compared (different kinds, different units); otherwise the sign of a - b, where
    // unordered kinds give 0 for equal and 1 for different.
    public static int? Compare(IntakeAnswerValue a, IntakeAnswerValue b) => (a, b) switch
    {
        (IntegerAnswer x, IntegerAnswer y) => x.Value.CompareTo(y.Value),
        (IntegerAnswer x, DecimalAnswer y) => ((decimal)x.Value).CompareTo(y.Value),
        (DecimalAnswer x, IntegerAnswer y) => x.Value.CompareTo(y.Value),
        (DecimalAnswer x, DecimalAnswer y) => x.Value.CompareTo(y.Value),
        (DateAnswer x, DateAnswer y) => x.Value.CompareTo(y.Value),
        (DateTimeAnswer x, DateTimeAnswer y) => x.Value.CompareTo(y.Value),
        (TimeAnswer x, TimeAnswer y) => x.Value.CompareTo(y.Value),
        (StringAnswer x, StringAnswer y) => string.CompareOrdinal(x.Value, y.Value),
        (QuantityAnswer x, QuantityAnswer y) => x.Value.HasSameUnit(y.Value) ? x.Value.Value.CompareTo(y.Value.Value) : null,
        (QuantityAnswer x, DecimalAnswer y) => x.Value.Value.CompareTo(y.Value),
        (QuantityAnswer x, IntegerAnswer y) => x.Value.Value.CompareTo(y.Value),
        (BooleanAnswer x, BooleanAnswer y) => x.Value == y.Value ? 0 : 1,
        (CodingAnswer x, CodingAnswer y) => x.Value.Matches(y.Value) ? 0 : 1,
        (UriAnswer x, UriAnswer y) => string.Equals(x.Value.OriginalString, y.Value.OriginalString, StringComparison.Ordinal) ? 0 : 1,
        (ReferenceAnswer x, ReferenceAnswer y) => string.Equals(x.Value, y.Value, StringComparison.Ordinal) ? 0 : 1,
        (AttachmentAnswer x, AttachmentAnswer y) => x.Value == y.Value ? 0 : 1,
        _ => null,
    };

    public static bool IsOrdered(IntakeAnswerValue value) =>
        value is IntegerAnswer or DecimalAnswer or DateAnswer or DateTimeAnswer or TimeAnswer or StringAnswer or QuantityAnswer;

    // One enableWhen condition over the answers the question has in the relevant context.
    public static bool Satisfies(EnableWhenCondition condition, IReadOnlyCollection<IntakeAnswerValue> answers)
    {
        if (condition.Operator == EnableWhenOperator.Exists)
        {
            bool wanted = ((BooleanAnswer)condition.Answer).Value;
            return wanted == (answers.Count > 0);
        }

        foreach (IntakeAnswerValue answer in answers)
        {
            int? order = Compare(answer, condition.Answer);
            bool holds = condition.Operator switch
            {
                EnableWhenOperator.Equal => order == 0,
                EnableWhenOperator.NotEqual => order != 0,
                EnableWhenOperator.GreaterThan => order > 0,
                EnableWhenOperator.LessThan => order < 0,
                EnableWhenOperator.GreaterOrEqual => order >= 0,
                EnableWhenOperator.LessOrEqual => order <= 0,
                _ => false,
            };
            if (holds)
            {
                return true;
            }
        }

        return false;
    }
}
