using TelehealthMessaging.Intake;

namespace TelehealthMessaging.Compliance;

/// <summary>How strictly <see cref="ResidentRegistrationNumberDetector"/> checks a candidate number.</summary>
public enum ResidentRegistrationNumberValidation
{
    /// <summary>
    /// A valid birth date and gender/century digit are enough. Finds every number, including those issued since
    /// October 2020, whose last six digits are random and carry no checksum. The default: it errs towards protecting data.
    /// </summary>
    DateAndGender = 0,

    /// <summary>
    /// Also requires the mod-11 check digit, except for birth dates from 1 October 2020 on (those numbers have none).
    /// Fewer false positives, but misses numbers re-issued without a checksum since October 2020.
    /// </summary>
    Checksum = 1,
}

/// <summary>Where a sensitive identifier was found in a text.</summary>
/// <param name="Start">The index of its first character.</param>
/// <param name="Length">Its length, separator included.</param>
/// <param name="HasValidChecksum">Whether the mod-11 check digit holds (numbers issued before October 2020 have one).</param>
/// <remarks>Holds positions only, never the digits.</remarks>
public readonly record struct SensitiveIdentifierMatch(int Start, int Length, bool HasValidChecksum);

/// <summary>A sensitive identifier found in a free-text intake answer.</summary>
/// <param name="LinkId">The question's linkId.</param>
/// <param name="Path">Where the answer is: repeating-group instances and the answer index, for example <c>symptoms[1]/symptom.code[0]</c>.</param>
/// <param name="Match">Where in the answer text.</param>
public sealed record IntakeIdentifierFinding(string LinkId, string Path, SensitiveIdentifierMatch Match);

/// <summary>
/// Finds Korean resident registration numbers (주민등록번호, <c>YYMMDD-GNNNNNN</c>) in free text: thirteen digits,
/// optionally split 6+7 by a hyphen or a space, that are not part of a longer run of digits, with a real birth date
/// and a gender/century digit that fits it.
/// </summary>
/// <remarks>
/// Gender/century digits: 9 and 0 for 1800s births, 1, 2, 5, 6 for 1900s, 3, 4, 7, 8 for 2000s (5 to 8: foreign
/// residents). The check digit is <c>(11 - Σ wᵢdᵢ mod 11) mod 10</c> with weights 2 3 4 5 6 7 8 9 2 3 4 5 (for
/// foreign residents <c>(13 - Σ mod 11) mod 10</c>). Thread-safe.
/// </remarks>
public sealed class ResidentRegistrationNumberDetector
{
    private static readonly int[] Weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    private static readonly DateOnly ChecksumDropped = new(2020, 10, 1);

    /// <summary>Creates a detector.</summary>
    /// <param name="validation">How strictly candidates are checked.</param>
    public ResidentRegistrationNumberDetector(ResidentRegistrationNumberValidation validation = ResidentRegistrationNumberValidation.DateAndGender)
    {
        if (!Enum.IsDefined(validation))
        {
            throw new ArgumentOutOfRangeException(nameof(validation));
        }

        Validation = validation;
    }

    /// <summary>How strictly candidates are checked.</summary>
    public ResidentRegistrationNumberValidation Validation { get; }

    /// <summary>Finds every resident registration number in <paramref name="text"/>.</summary>
    /// <param name="text">The text to scan.</param>
    /// <returns>The matches, in order.</returns>
    public IReadOnlyList<SensitiveIdentifierMatch> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matches = new List<SensitiveIdentifierMatch>();
        Span<int> digits = stackalloc int[13];
        int i = 0;
        while (i < text.Length)
        {
            if (!char.IsAsciiDigit(text[i]) || (i > 0 && char.IsAsciiDigit(text[i - 1])))
            {
                i++;
                continue;
            }

            if (TryMatchAt(text, i, digits, out int length) && Accept(digits, out bool checksum))
            {
                matches.Add(new SensitiveIdentifierMatch(i, length, checksum));
                i += length;
            }
            else
            {
                i++;
            }
        }

        return matches;
    }

    /// <summary>Whether <paramref name="text"/> holds a resident registration number.</summary>
    /// <param name="text">The text to scan.</param>
    /// <returns><see langword="true"/> when at least one is found.</returns>
    public bool Contains(string text) => Find(text).Count > 0;

    /// <summary>Finds resident registration numbers in the free-text (string and text) answers of an intake.</summary>
    /// <param name="answers">The answers: an <see cref="IntakeAnswers"/>, or a submission's <see cref="IntakeSubmission.Answers"/>.</param>
    /// <returns>The findings, by linkId and position only.</returns>
    public IReadOnlyList<IntakeIdentifierFinding> Find(IntakeAnswerReader answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var findings = new List<IntakeIdentifierFinding>();
        foreach ((string linkId, string path, List<IntakeAnswerValue> values, int index) in FreeTextAnswers(answers.Form, answers.Node, string.Empty))
        {
            foreach (SensitiveIdentifierMatch match in Find(((StringAnswer)values[index]).Value))
            {
                findings.Add(new IntakeIdentifierFinding(linkId, path, match));
            }
        }

        return findings;
    }

    /// <summary>Names the type and the validation.</summary>
    /// <returns>The detector as text.</returns>
    public override string ToString() => $"ResidentRegistrationNumberDetector {{ Validation = {Validation} }}";

    // Every string answer in a scope and its repeating-group instances, with a path that names no value.
    internal static IEnumerable<(string LinkId, string Path, List<IntakeAnswerValue> Values, int Index)> FreeTextAnswers(IntakeForm form, AnswerNode node, string prefix)
    {
        foreach (IntakeItem item in form.AllItems.Where(i => i.RepeatingOwner == node.Group))
        {
            if (item.IsQuestion && node.Answers.TryGetValue(item.LinkId, out List<IntakeAnswerValue>? values))
            {
                for (int i = 0; i < values.Count; i++)
                {
                    if (values[i] is StringAnswer)
                    {
                        yield return (item.LinkId, $"{prefix}{item.LinkId}[{i}]", values, i);
                    }
                }
            }
            else if (item.Type == IntakeItemType.Group && item.Repeats)
            {
                IReadOnlyList<AnswerNode> instances = node.InstancesOf(item.LinkId);
                for (int n = 0; n < instances.Count; n++)
                {
                    foreach (var found in FreeTextAnswers(form, instances[n], $"{prefix}{item.LinkId}[{n}]/"))
                    {
                        yield return found;
                    }
                }
            }
        }
    }

    // Reads 6 digits, an optional '-' or ' ', and 7 digits at start, not followed by another digit.
    private static bool TryMatchAt(string text, int start, Span<int> digits, out int length)
    {
        length = 0;
        int p = start;
        for (int d = 0; d < 13; d++)
        {
            if (d == 6 && p < text.Length && text[p] is '-' or ' ')
            {
                p++;
            }

            if (p >= text.Length || !char.IsAsciiDigit(text[p]))
            {
                return false;
            }

            digits[d] = text[p++] - '0';
        }

        if (p < text.Length && char.IsAsciiDigit(text[p]))
        {
            return false;
        }

        length = p - start;
        return true;
    }

    private bool Accept(ReadOnlySpan<int> digits, out bool checksumValid)
    {
        checksumValid = false;
        int century = digits[6] switch
        {
            9 or 0 => 1800,
            1 or 2 or 5 or 6 => 1900,
            3 or 4 or 7 or 8 => 2000,
            _ => -1,
        };
        int year = century + (digits[0] * 10) + digits[1];
        int month = (digits[2] * 10) + digits[3];
        int day = (digits[4] * 10) + digits[5];
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        int sum = 0;
        for (int i = 0; i < 12; i++)
        {
            sum += Weights[i] * digits[i];
        }

        bool foreign = digits[6] is >= 5 and <= 8;
        int check = ((foreign ? 13 : 11) - (sum % 11)) % 10;
        checksumValid = check == digits[12];
        return Validation == ResidentRegistrationNumberValidation.DateAndGender
            || checksumValid
            || new DateOnly(year, month, day) >= ChecksumDropped;
    }
}
