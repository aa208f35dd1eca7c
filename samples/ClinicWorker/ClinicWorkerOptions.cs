namespace TelehealthMessaging.ClinicWorker;

/// <summary>The worker's own settings, bound from the <c>ClinicWorker</c> section of appsettings.json.</summary>
public sealed class ClinicWorkerOptions
{
    /// <summary>Where the device's encrypted keys, sessions and history live. Default <c>clinic-worker-data</c>.</summary>
    public string DataDirectory { get; set; } = "clinic-worker-data";

    /// <summary>The message sent to the patient once the worker holds the intake.</summary>
    public string Acknowledgement { get; set; } = "Thank you, your intake has reached the clinic.";

    /// <summary>The message sent instead when the intake raised a red flag.</summary>
    public string RedFlagAcknowledgement { get; set; } = "Your answers suggest you may need emergency care: please call your emergency number now.";
}
