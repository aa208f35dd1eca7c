namespace TelehealthMessaging.Intake;

// Member names mirror the FHIR type codes (decimal, integer, string), which is clearer here than avoiding CLR type names.
#pragma warning disable CA1720 // Identifier contains type name

/// <summary>The type of a questionnaire item (FHIR R4 <c>Questionnaire.item.type</c>).</summary>
public enum IntakeItemType
{
    /// <summary><c>group</c>: a section holding other items; has no answer of its own.</summary>
    Group,

    /// <summary><c>display</c>: text shown to the patient; never answered.</summary>
    Display,

    /// <summary><c>boolean</c>: yes or no (<see cref="BooleanAnswer"/>).</summary>
    Boolean,

    /// <summary><c>decimal</c>: a real number (<see cref="DecimalAnswer"/>).</summary>
    Decimal,

    /// <summary><c>integer</c>: a whole number (<see cref="IntegerAnswer"/>).</summary>
    Integer,

    /// <summary><c>date</c>: a calendar date (<see cref="DateAnswer"/>).</summary>
    Date,

    /// <summary><c>dateTime</c>: a date and time with zone (<see cref="DateTimeAnswer"/>).</summary>
    DateTime,

    /// <summary><c>time</c>: a time of day (<see cref="TimeAnswer"/>).</summary>
    Time,

    /// <summary><c>string</c>: a short text (<see cref="StringAnswer"/>).</summary>
    String,

    /// <summary><c>text</c>: a long, possibly multi-line text (<see cref="StringAnswer"/>).</summary>
    Text,

    /// <summary><c>url</c>: an absolute URL (<see cref="UriAnswer"/>).</summary>
    Url,

    /// <summary><c>choice</c>: one of the answer options (usually <see cref="CodingAnswer"/>).</summary>
    Choice,

    /// <summary><c>open-choice</c>: one of the answer options or free text (<see cref="StringAnswer"/>).</summary>
    OpenChoice,

    /// <summary><c>attachment</c>: a reference to stored content (<see cref="AttachmentAnswer"/>).</summary>
    Attachment,

    /// <summary><c>reference</c>: a reference to another FHIR resource (<see cref="ReferenceAnswer"/>).</summary>
    Reference,

    /// <summary><c>quantity</c>: a value with a unit (<see cref="QuantityAnswer"/>).</summary>
    Quantity,
}
#pragma warning restore CA1720

/// <summary>How an <c>enableWhen</c> condition compares the answers of its question (FHIR R4 <c>QuestionnaireItemOperator</c>).</summary>
public enum EnableWhenOperator
{
    /// <summary><c>exists</c>: the question has (answer <see langword="true"/>) or lacks (<see langword="false"/>) any answer.</summary>
    Exists,

    /// <summary><c>=</c>: at least one answer equals the condition's answer.</summary>
    Equal,

    /// <summary><c>!=</c>: at least one answer differs from the condition's answer (R4: no answer at all is not enough).</summary>
    NotEqual,

    /// <summary><c>&gt;</c>: at least one answer is greater.</summary>
    GreaterThan,

    /// <summary><c>&lt;</c>: at least one answer is less.</summary>
    LessThan,

    /// <summary><c>&gt;=</c>: at least one answer is greater or equal.</summary>
    GreaterOrEqual,

    /// <summary><c>&lt;=</c>: at least one answer is less or equal.</summary>
    LessOrEqual,
}

/// <summary>How several <c>enableWhen</c> conditions of one item combine (FHIR R4 <c>Questionnaire.item.enableBehavior</c>).</summary>
public enum EnableBehavior
{
    /// <summary><c>all</c>: every condition must hold. Used when the form states none (it has a single condition then).</summary>
    All,

    /// <summary><c>any</c>: at least one condition must hold.</summary>
    Any,
}

/// <summary>A condition under which an item is shown (FHIR R4 <c>Questionnaire.item.enableWhen</c>).</summary>
/// <param name="QuestionLinkId">The linkId of the question whose answers are compared; it may be in another group.</param>
/// <param name="Operator">How the answers are compared.</param>
/// <param name="Answer">The value compared with; a <see cref="BooleanAnswer"/> for <see cref="EnableWhenOperator.Exists"/>.</param>
public sealed record EnableWhenCondition(string QuestionLinkId, EnableWhenOperator Operator, IntakeAnswerValue Answer)
{
    /// <summary>Describes the condition without its comparison value (form content, but kept out of logs like answers).</summary>
    /// <returns>The question's linkId and the operator.</returns>
    public override string ToString() => $"EnableWhenCondition {{ QuestionLinkId = {QuestionLinkId}, Operator = {Operator} }}";
}

/// <summary>One permitted answer of a <c>choice</c> or <c>open-choice</c> item, from <c>answerOption</c> or a contained value set.</summary>
/// <param name="Value">The answer this option stands for (usually a <see cref="CodingAnswer"/>).</param>
/// <param name="InitialSelected">Whether the form selects this option initially.</param>
/// <param name="OrdinalValue">
/// The score the form assigns to the option (the <c>ordinalValue</c> or <c>itemWeight</c> extension), if any: PHQ-9
/// scores 0 to 3.
/// </param>
public sealed record IntakeAnswerOption(IntakeAnswerValue Value, bool InitialSelected = false, decimal? OrdinalValue = null)
{
    /// <summary>Describes the option without its value: once chosen it is an answer.</summary>
    /// <returns>The kind of value and whether it is initially selected.</returns>
    public override string ToString() => $"IntakeAnswerOption {{ Value = {Value}, InitialSelected = {(InitialSelected ? "true" : "false")} }}";
}
