namespace TelehealthMessaging.Tests.Messaging;

public class ParticipantTests
{
    [Theory]
    [InlineData(ParticipantRole.Patient, "Patient/u-1")]
    [InlineData(ParticipantRole.Clinician, "Practitioner/u-1")]
    [InlineData(ParticipantRole.Clinic, "Organization/u-1")]
    [InlineData(ParticipantRole.System, "Device/u-1")]
    public void Each_role_maps_to_its_fhir_resource_type(ParticipantRole role, string reference)
    {
        Assert.Equal(reference, new Participant(new UserId("u-1"), role).FhirReference);
    }

    [Fact]
    public void A_default_or_undefined_participant_is_not_specified()
    {
        Assert.False(default(Participant).IsSpecified);
        Assert.False(new Participant(new UserId("u-1"), (ParticipantRole)42).IsSpecified);
        Assert.True(Participant.Clinic(new UserId("u-1")).IsSpecified);
        Assert.Throws<ArgumentException>(() => Participant.ThrowIfUnspecified(default, "p"));
    }
}
