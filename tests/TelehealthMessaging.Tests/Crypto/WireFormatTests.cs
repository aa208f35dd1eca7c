using TelehealthMessaging.Crypto;

namespace TelehealthMessaging.Tests.Crypto;

public class WireFormatTests
{
    [Fact]
    public void Writer_output_is_big_endian_and_reads_back_field_by_field()
    {
        byte[] bytes = new WireWriter()
            .WriteUInt8(0x01)
            .WriteUInt16(0x0203)
            .WriteUInt32(0x04050607)
            .WriteUInt64(0x08090A0B0C0D0E0F)
            .WriteFixed([0xAA, 0xBB])
            .WriteBytes([0xCC, 0xDD, 0xEE], maxLength: 8)
            .WriteBytes([], maxLength: 8)
            .ToArray();

        Assert.Equal("010203040506070809" + "0a0b0c0d0e0f" + "aabb" + "00000003ccddee" + "00000000", Convert.ToHexStringLower(bytes));

        var reader = new WireReader(bytes);
        Assert.Equal(0x01, reader.ReadUInt8("version"));
        Assert.Equal(0x0203, reader.ReadUInt16("kind"));
        Assert.Equal(0x04050607u, reader.ReadUInt32("counter"));
        Assert.Equal(0x08090A0B0C0D0E0FUL, reader.ReadUInt64("sequence"));
        Assert.Equal([0xAA, 0xBB], reader.ReadFixed(2, "key").ToArray());
        Assert.Equal([0xCC, 0xDD, 0xEE], reader.ReadBytes(8, "body").ToArray());
        Assert.Equal(0, reader.ReadBytes(8, "padding").Length);
        Assert.Equal(0, reader.Remaining);
        reader.EnsureEnd();
    }

    [Theory]
    [InlineData("", "uint8")]
    [InlineData("00", "uint16")]
    [InlineData("000000", "uint32")]
    [InlineData("00000000000000", "uint64")]
    [InlineData("aa", "fixed")]
    [InlineData("000000", "bytes")]
    [InlineData("00000004aabbcc", "bytes")]
    public void Truncated_input_is_refused_naming_the_field(string hex, string kind)
    {
        byte[] bytes = Convert.FromHexString(hex);
        var ex = Assert.Throws<CryptographicFailureException>(() =>
        {
            var reader = new WireReader(bytes);
            _ = kind switch
            {
                "uint8" => reader.ReadUInt8("field"),
                "uint16" => reader.ReadUInt16("field"),
                "uint32" => reader.ReadUInt32("field"),
                "uint64" => (object)reader.ReadUInt64("field"),
                "fixed" => reader.ReadFixed(2, "field").Length,
                _ => reader.ReadBytes(16, "field").Length,
            };
        });

        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ex.Reason);
        Assert.Equal(TelehealthErrorCode.IntegrityCheckFailed, ex.ErrorCode);
        Assert.Contains("field", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_length_over_the_maximum_is_refused_before_reading_the_value()
    {
        // The declared length (5) exceeds the maximum (4) even though all five bytes are present.
        byte[] bytes = Convert.FromHexString("000000050102030405");
        var ex = Assert.Throws<CryptographicFailureException>(() => new WireReader(bytes).ReadBytes(4, "ciphertext"));
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ex.Reason);
        Assert.Contains("maximum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_length_near_uint_max_is_refused_without_overflow()
    {
        byte[] bytes = Convert.FromHexString("ffffffff00");
        var ex = Assert.Throws<CryptographicFailureException>(() => new WireReader(bytes).ReadBytes(int.MaxValue, "body"));
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ex.Reason);
    }

    [Fact]
    public void Trailing_bytes_are_refused_by_ensure_end()
    {
        byte[] bytes = new WireWriter().WriteUInt16(7).WriteUInt8(0).ToArray();
        var ex = Assert.Throws<CryptographicFailureException>(() =>
        {
            var reader = new WireReader(bytes);
            reader.ReadUInt16("kind");
            reader.EnsureEnd();
        });
        Assert.Equal(CryptographicFailureReason.MalformedEncoding, ex.Reason);
    }

    [Fact]
    public void The_writer_refuses_values_its_reader_would_refuse()
    {
        Assert.Throws<ArgumentException>(() => new WireWriter().WriteBytes(new byte[5], maxLength: 4));
        Assert.Equal("WireWriter(0 bytes)", new WireWriter().ToString());
    }
}
