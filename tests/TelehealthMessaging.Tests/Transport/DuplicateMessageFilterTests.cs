using TelehealthMessaging.Transport;

namespace TelehealthMessaging.Tests.Transport;

public sealed class DuplicateMessageFilterTests
{
    [Fact]
    public void An_id_is_accepted_once()
    {
        var filter = new DuplicateMessageFilter();
        var id = MessageId.New();

        Assert.True(filter.TryAccept(id));
        Assert.False(filter.TryAccept(id));
        Assert.True(filter.Contains(id));
        Assert.Equal(1, filter.Count);
    }

    [Fact]
    public void The_oldest_id_is_forgotten_once_the_capacity_is_reached()
    {
        var filter = new DuplicateMessageFilter(capacity: 3);
        MessageId[] ids = Enumerable.Range(0, 4).Select(_ => MessageId.New()).ToArray();

        foreach (MessageId id in ids)
        {
            Assert.True(filter.TryAccept(id));
        }

        Assert.Equal(3, filter.Count);
        Assert.False(filter.Contains(ids[0]));
        Assert.All(ids.Skip(1), id => Assert.False(filter.TryAccept(id)));
    }

    [Fact]
    public void Concurrent_callers_accept_each_id_exactly_once()
    {
        var filter = new DuplicateMessageFilter();
        MessageId[] ids = Enumerable.Range(0, 500).Select(_ => MessageId.New()).ToArray();
        int accepted = 0;

        Parallel.For(0, 4, _ =>
        {
            foreach (MessageId id in ids)
            {
                if (filter.TryAccept(id))
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        });

        Assert.Equal(ids.Length, accepted);
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DuplicateMessageFilter(0));
        Assert.Throws<ArgumentException>(() => new DuplicateMessageFilter().TryAccept(default));
    }
}
