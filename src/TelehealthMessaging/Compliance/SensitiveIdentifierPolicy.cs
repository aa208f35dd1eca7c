using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Compliance;

/// <summary>What a <see cref="SensitiveIdentifierPolicy"/> does with a sensitive identifier it finds.</summary>
public enum SensitiveIdentifierMode
{
    /// <summary>Leave the text as it is and report where the identifiers are.</summary>
    Warn = 0,

    /// <summary>Replace every digit after the seventh with <c>*</c> (<c>900101-1******</c>), keeping birth date and gender digit.</summary>
    Mask = 1,

    /// <summary>Refuse the content: throw <see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/>, changing nothing.</summary>
    Refuse = 2,
}

/// <summary>The outcome of applying a <see cref="SensitiveIdentifierPolicy"/> to a text.</summary>
public sealed class SensitiveTextResult
{
    internal SensitiveTextResult(string text, IReadOnlyList<SensitiveIdentifierMatch> matches)
    {
        Text = text;
        Matches = matches;
    }

    /// <summary>The text to use: the input under <see cref="SensitiveIdentifierMode.Warn"/>, masked under <see cref="SensitiveIdentifierMode.Mask"/>.</summary>
    public string Text { get; }

    /// <summary>Where identifiers were found (in the input).</summary>
    public IReadOnlyList<SensitiveIdentifierMatch> Matches { get; }

    /// <summary>Counts the matches; never shows the text.</summary>
    /// <returns>The result as text.</returns>
    public override string ToString() => $"SensitiveTextResult {{ Matches = {Matches.Count} }}";
}

/// <summary>
/// Applies an app's rule for Korean resident registration numbers (PIPA Art. 24-2 forbids processing them without a
/// legal basis) to message text and to the free-text answers of intakes: warn, mask or refuse.
/// </summary>
/// <remarks>Thread-safe. Error messages name fields only, never the digits.</remarks>
public sealed class SensitiveIdentifierPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="mode">What to do with a number that is found.</param>
    /// <param name="detector">The detector; a <see cref="ResidentRegistrationNumberDetector"/> with default validation when omitted.</param>
    public SensitiveIdentifierPolicy(SensitiveIdentifierMode mode, ResidentRegistrationNumberDetector? detector = null)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode));
        }

        Mode = mode;
        Detector = detector ?? new ResidentRegistrationNumberDetector();
    }

    /// <summary>What the policy does with a number that is found.</summary>
    public SensitiveIdentifierMode Mode { get; }

    /// <summary>The detector.</summary>
    public ResidentRegistrationNumberDetector Detector { get; }

    /// <summary>Applies the policy to a text, such as a message body.</summary>
    /// <param name="text">The text.</param>
    /// <param name="field">What the text is, for the error message (for example <c>message.text</c>); never the text itself.</param>
    /// <returns>The text to use and where identifiers were found.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/> under <see cref="SensitiveIdentifierMode.Refuse"/>.</exception>
    public SensitiveTextResult Apply(string text, string field = "text")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(field);
        IReadOnlyList<SensitiveIdentifierMatch> matches = Detector.Find(text);
        if (matches.Count == 0)
        {
            return new SensitiveTextResult(text, matches);
        }

        return Mode switch
        {
            SensitiveIdentifierMode.Refuse => throw Refused([field]),
            SensitiveIdentifierMode.Mask => new SensitiveTextResult(Mask(text, matches), matches),
            _ => new SensitiveTextResult(text, matches),
        };
    }

    /// <summary>
    /// Applies the policy to the free-text answers of an intake being filled in. Under
    /// <see cref="SensitiveIdentifierMode.Mask"/> the answers are masked in place; under
    /// <see cref="SensitiveIdentifierMode.Refuse"/> nothing is changed and the call throws.
    /// </summary>
    /// <param name="answers">The answers.</param>
    /// <returns>Where identifiers were found.</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/> under <see cref="SensitiveIdentifierMode.Refuse"/>; the message names the linkIds.</exception>
    public IReadOnlyList<IntakeIdentifierFinding> Apply(IntakeAnswers answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var findings = new List<IntakeIdentifierFinding>();
        var toMask = new List<(List<IntakeAnswerValue> Values, int Index, IReadOnlyList<SensitiveIdentifierMatch> Matches)>();
        foreach ((string linkId, string path, List<IntakeAnswerValue> values, int index) in ResidentRegistrationNumberDetector.FreeTextAnswers(answers.Form, answers.Node, string.Empty))
        {
            IReadOnlyList<SensitiveIdentifierMatch> matches = Detector.Find(((StringAnswer)values[index]).Value);
            if (matches.Count > 0)
            {
                findings.AddRange(matches.Select(m => new IntakeIdentifierFinding(linkId, path, m)));
                toMask.Add((values, index, matches));
            }
        }

        if (findings.Count > 0 && Mode == SensitiveIdentifierMode.Refuse)
        {
            throw Refused(findings.Select(f => f.LinkId).Distinct());
        }

        if (Mode == SensitiveIdentifierMode.Mask)
        {
            foreach ((List<IntakeAnswerValue> values, int index, IReadOnlyList<SensitiveIdentifierMatch> matches) in toMask)
            {
                values[index] = new StringAnswer(Mask(((StringAnswer)values[index]).Value, matches));
            }
        }

        return findings;
    }

    /// <summary>
    /// Checks a submitted intake. A submission is immutable, so <see cref="SensitiveIdentifierMode.Mask"/> cannot apply
    /// and is treated as <see cref="SensitiveIdentifierMode.Refuse"/>: mask the answers before submitting.
    /// </summary>
    /// <param name="submission">The submission.</param>
    /// <returns>Where identifiers were found (only under <see cref="SensitiveIdentifierMode.Warn"/> can there be any).</returns>
    /// <exception cref="TelehealthException"><see cref="TelehealthErrorCode.SensitiveIdentifierRefused"/> unless the mode is <see cref="SensitiveIdentifierMode.Warn"/>.</exception>
    public IReadOnlyList<IntakeIdentifierFinding> Check(IntakeSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        IReadOnlyList<IntakeIdentifierFinding> findings = Detector.Find(submission.Answers);
        if (findings.Count > 0 && Mode != SensitiveIdentifierMode.Warn)
        {
            throw Refused(findings.Select(f => f.LinkId).Distinct());
        }

        return findings;
    }

    /// <summary>Names the mode.</summary>
    /// <returns>The policy as text.</returns>
    public override string ToString() => $"SensitiveIdentifierPolicy {{ Mode = {Mode} }}";

    internal static string Mask(string text, IReadOnlyList<SensitiveIdentifierMatch> matches)
    {
        char[] chars = text.ToCharArray();
        foreach (SensitiveIdentifierMatch match in matches)
        {
            int digits = 0;
            for (int i = match.Start; i < match.Start + match.Length; i++)
            {
                if (char.IsAsciiDigit(chars[i]) && ++digits > 7)
                {
                    chars[i] = '*';
                }
            }
        }

        return new string(chars);
    }

    // Names the fields only: no digits of the number, not even a count or a position.
    private static TelehealthException Refused(IEnumerable<string> fields) => new(
        TelehealthErrorCode.SensitiveIdentifierRefused,
        $"A resident registration number was found in {string.Join(", ", fields)}; the policy refuses such content. Remove the number and try again.");
}
