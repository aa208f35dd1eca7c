using Microsoft.Extensions.Logging;
using TelehealthMessaging.Compliance;
using TelehealthMessaging.Intake;
using TelehealthMessaging.Storage;

namespace TelehealthMessaging;

/// <summary>Settings of one <see cref="TelehealthClient"/> (one device of one user).</summary>
public sealed class TelehealthClientOptions
{
    /// <summary>The relay: <c>memory://name</c> (an <see cref="Transport.InMemoryRelay"/> registered under that name), <c>http(s)://</c> or <c>ws(s)://</c>.</summary>
    public Uri? RelayEndpoint { get; set; }

    /// <summary>The user this device belongs to (the app's own user id).</summary>
    public UserId User { get; set; }

    /// <summary>Whether the user is a patient or a clinician.</summary>
    public ParticipantRole Role { get; set; } = ParticipantRole.Patient;

    /// <summary>For clinicians: the clinic whose intakes and callback requests this device triages.</summary>
    public ClinicId? Clinic { get; set; }

    /// <summary>This device's id; when not set, one is generated on first use and kept in <see cref="Store"/>.</summary>
    public DeviceId? Device { get; set; }

    /// <summary>Where keys, sessions and local data live. Required: an <see cref="EncryptedFileStore"/> in apps, an <see cref="InMemoryDeviceStore"/> in tests.</summary>
    public IDeviceStore? Store { get; set; }

    /// <summary>The clock; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where logs go; nothing is logged when not set. Logs carry ids, sizes, states and timings only.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The intake forms clinics publish, by canonical URL; the built-in <see cref="TelehealthIntake.Form"/> is always known.</summary>
    public IList<IntakeForm> IntakeForms { get; } = [];

    /// <summary>Rules that flag emergencies in intakes; <see cref="RedFlagRules.Defaults"/> when not changed.</summary>
    public RedFlagOptions RedFlags { get; set; } = new();

    /// <summary>
    /// The consents an intake submission requires of the patient; <see cref="IntakeConsentRequirement.HealthIntake"/>
    /// (treatment and, separately, processing of health data) by default. <see langword="null"/> turns the check off.
    /// </summary>
    public IntakeConsentRequirement? IntakeConsents { get; set; } = IntakeConsentRequirement.HealthIntake;

    /// <summary>
    /// What to do with Korean resident registration numbers in outgoing message text and intake answers: warn (log a
    /// count), mask, or refuse. <see cref="SensitiveIdentifierMode.Warn"/> by default; <see langword="null"/> turns it off.
    /// </summary>
    public SensitiveIdentifierPolicy? SensitiveIdentifiers { get; set; } = new(SensitiveIdentifierMode.Warn);

    /// <summary>How long a conversation is kept after its newest message before it is crypto-shredded; kept forever when <see langword="null"/>.</summary>
    public TimeSpan? RetentionPeriod { get; set; }

    /// <summary>The first retry delay of the outbox; doubles per attempt with full jitter up to <see cref="OutboxMaxRetryDelay"/>.</summary>
    public TimeSpan OutboxBaseRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest retry delay of the outbox.</summary>
    public TimeSpan OutboxMaxRetryDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is missing or wrong.</summary>
    public void Validate()
    {
        foreach (string problem in Problems())
        {
            throw new ArgumentException(problem);
        }
    }

    internal IEnumerable<string> Problems()
    {
        if (RelayEndpoint is null)
        {
            yield return "TelehealthClientOptions.RelayEndpoint is required (memory://name, http(s)://host or ws(s)://host).";
        }
        else if (!RelayEndpoint.IsAbsoluteUri || RelayEndpoint.Scheme is not ("memory" or "http" or "https" or "ws" or "wss"))
        {
            yield return "TelehealthClientOptions.RelayEndpoint must be an absolute memory://, http(s):// or ws(s):// URI.";
        }

        if (User.Value is null)
        {
            yield return "TelehealthClientOptions.User is required.";
        }

        if (Role is not (ParticipantRole.Patient or ParticipantRole.Clinician))
        {
            yield return "TelehealthClientOptions.Role must be Patient or Clinician.";
        }

        if (Clinic is { Value: null })
        {
            yield return "TelehealthClientOptions.Clinic must be a valid clinic id when set.";
        }

        if (Clinic is not null && Role != ParticipantRole.Clinician)
        {
            yield return "TelehealthClientOptions.Clinic can be set for clinicians only.";
        }

        if (Store is null)
        {
            yield return "TelehealthClientOptions.Store is required (EncryptedFileStore in apps, InMemoryDeviceStore in tests).";
        }

        if (TimeProvider is null)
        {
            yield return "TelehealthClientOptions.TimeProvider must not be null.";
        }

        if (RedFlags is null)
        {
            yield return "TelehealthClientOptions.RedFlags must not be null.";
        }

        if (RetentionPeriod is TimeSpan retention && retention <= TimeSpan.Zero)
        {
            yield return "TelehealthClientOptions.RetentionPeriod must be positive when set.";
        }

        if (OutboxBaseRetryDelay <= TimeSpan.Zero || OutboxMaxRetryDelay < OutboxBaseRetryDelay)
        {
            yield return "TelehealthClientOptions.OutboxBaseRetryDelay must be positive and OutboxMaxRetryDelay at least as long.";
        }
    }
}
