using System.Globalization;

namespace TelehealthMessaging.Transport;

/// <summary>A position in one device's mailbox: envelopes are numbered 1, 2, 3 … in the order the relay stored them.</summary>
/// <remarks>
/// A client that has processed everything up to a cursor never later finds a new envelope below it, so resuming
/// "after the last cursor processed" loses nothing. <see cref="Start"/> (0) means from the beginning.
/// </remarks>
public readonly record struct RelayCursor : IComparable<RelayCursor>
{
    /// <summary>Wraps a cursor value.</summary>
    /// <param name="value">0 or a positive cursor the relay returned.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    public RelayCursor(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        Value = value;
    }

    /// <summary>The position before the first envelope.</summary>
    public static RelayCursor Start => default;

    /// <summary>The cursor's number; 0 is <see cref="Start"/>.</summary>
    public long Value { get; }

    /// <summary>Parses the relay's decimal text form.</summary>
    /// <param name="text">Decimal digits only.</param>
    /// <param name="cursor">The cursor, when the text is well formed.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is a cursor.</returns>
    public static bool TryParse(string? text, out RelayCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(text) || text.Length > 19 || !text.All(char.IsAsciiDigit)
            || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            return false;
        }

        cursor = new RelayCursor(value);
        return true;
    }

    /// <summary>Tells whether <paramref name="left"/> comes before <paramref name="right"/>.</summary>
    /// <param name="left">A cursor.</param>
    /// <param name="right">Another cursor.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is earlier.</returns>
    public static bool operator <(RelayCursor left, RelayCursor right) => left.Value < right.Value;

    /// <summary>Tells whether <paramref name="left"/> comes after <paramref name="right"/>.</summary>
    /// <param name="left">A cursor.</param>
    /// <param name="right">Another cursor.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is later.</returns>
    public static bool operator >(RelayCursor left, RelayCursor right) => left.Value > right.Value;

    /// <summary>Tells whether <paramref name="left"/> is not after <paramref name="right"/>.</summary>
    /// <param name="left">A cursor.</param>
    /// <param name="right">Another cursor.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is earlier or equal.</returns>
    public static bool operator <=(RelayCursor left, RelayCursor right) => left.Value <= right.Value;

    /// <summary>Tells whether <paramref name="left"/> is not before <paramref name="right"/>.</summary>
    /// <param name="left">A cursor.</param>
    /// <param name="right">Another cursor.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> is later or equal.</returns>
    public static bool operator >=(RelayCursor left, RelayCursor right) => left.Value >= right.Value;

    /// <inheritdoc/>
    public int CompareTo(RelayCursor other) => Value.CompareTo(other.Value);

    /// <summary>Returns the decimal text the relay uses.</summary>
    /// <returns>The cursor as decimal digits.</returns>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
