namespace TelehealthMessaging;

/// <summary>The reason behind a <see cref="TelehealthException"/>.</summary>
public enum TelehealthErrorCode
{
    /// <summary>An error that has no more specific code.</summary>
    Unknown = 0,

    /// <summary>Answers, a callback request or another input failed validation; the exception lists every problem.</summary>
    ValidationFailed = 1,

    /// <summary>A FHIR resource or JSON document is not well formed or is not the resource type expected.</summary>
    InvalidFormat = 2,

    /// <summary>A workflow transition is not allowed from the current state (for example completing a cancelled callback).</summary>
    InvalidTransition = 3,

    /// <summary>The acting participant may not perform the requested transition (for example a patient accepting a callback).</summary>
    NotPermitted = 4,

    /// <summary>Data failed an integrity or authentication check and was not used.</summary>
    IntegrityCheckFailed = 5,

    /// <summary>The relay could not be reached or answered with a server error; retrying later may help.</summary>
    RelayUnavailable = 6,

    /// <summary>The relay refused the request because a rate limit applied; retrying later helps.</summary>
    RateLimited = 7,

    /// <summary>
    /// The relay refused the request as invalid or not permitted (a 4xx answer other than 429: bad signature, unknown
    /// device, oversized body, another device's mailbox). Retrying the same request does not help.
    /// </summary>
    RelayRejected = 8,

    /// <summary>A consent the operation requires was never granted or has been withdrawn; nothing was processed.</summary>
    ConsentRequired = 9,

    /// <summary>The local store is locked (after the idle timeout or explicitly); unlock it with the key protector again.</summary>
    StoreLocked = 10,

    /// <summary>The content holds an identifier the app's policy refuses to process (for example a Korean resident registration number).</summary>
    SensitiveIdentifierRefused = 11,

    /// <summary>The item, conversation or device named does not exist (or is not visible to this device).</summary>
    NotFound = 12,

    /// <summary>The data was erased (crypto-shredded) and can no longer be read.</summary>
    Erased = 13,
}
