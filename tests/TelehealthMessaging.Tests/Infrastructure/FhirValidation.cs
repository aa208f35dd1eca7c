using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace TelehealthMessaging.Tests.Infrastructure;

/// <summary>
/// Validates FHIR R4 JSON produced by the SDK with the Firely validator against the base specification.
/// One instance per test class (xunit class fixture): the validator is not thread-safe and its first use loads the
/// specification (several seconds), later validations take milliseconds.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Instance members so that xunit injects the fixture.")]
public sealed class FhirValidation
{
    private static readonly FhirJsonDeserializer Deserializer = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    // Test classes run in parallel and each has its own fixture: one shared source unpacks the specification once
    // (two unpacking into the same folder at once collide), and one gate serialises validation, which Firely does not
    // make thread-safe.
    private static readonly Lazy<CachedResolver> SharedResolver = new(() =>
    {
        // Keep the unpacked specification under the test output rather than the shared default in /tmp.
        string zipPath = Path.Combine(AppContext.BaseDirectory, "specification.zip");
        var zip = new ZipSource(zipPath, Path.Combine(AppContext.BaseDirectory, "fhir-spec-cache"));
        return new CachedResolver(zip);
    });

    private static readonly Lazy<Validator> SharedValidator = new(() =>
        new Validator(SharedResolver.Value, new LocalTerminologyService(SharedResolver.Value)));

    private static readonly Lock Gate = new();

    /// <summary>Parses <paramref name="json"/> strictly and returns the validator's errors and fatal issues as text.</summary>
    public IReadOnlyList<string> Errors(string json)
    {
        Resource resource;
        try
        {
            resource = Deserializer.Deserialize<Resource>(json);
        }
        catch (DeserializationFailedException ex)
        {
            return ex.Exceptions.Select(e => "parse: " + e.Message).ToList();
        }

        OperationOutcome outcome;
        lock (Gate)
        {
            outcome = SharedValidator.Value.Validate(resource);
        }

        return outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Select(i => $"{i.Severity} {string.Join(",", i.Location ?? [])}: {i.Details?.Text ?? i.Diagnostics}")
            .ToList();
    }

    /// <summary>Asserts that <paramref name="json"/> is a valid FHIR R4 resource, listing every error otherwise.</summary>
    public void AssertValid(string json)
    {
        var errors = Errors(json);
        Assert.True(errors.Count == 0, "FHIR validation errors:\n" + string.Join("\n", errors) + "\n--- resource ---\n" + json);
    }
}
