using System.Globalization;

namespace TelehealthMessaging.LoadTest;

/// <summary>
/// The whole machine's CPU time that no process here got: stolen by the hypervisor for other guests, and idle while
/// waiting for the disk. Read from the first line of /proc/stat; both zero where it does not exist.
/// </summary>
internal readonly record struct MachineCpu(TimeSpan Stolen, TimeSpan IoWait)
{
    public static MachineCpu Read()
    {
        if (!File.Exists("/proc/stat"))
        {
            return default;
        }

        // cpu user nice system idle iowait irq softirq steal …, in clock ticks summed over every core.
        string[] fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new MachineCpu(Ticks(fields, 8), Ticks(fields, 5));
    }

    public static MachineCpu operator -(MachineCpu end, MachineCpu start) => new(end.Stolen - start.Stolen, end.IoWait - start.IoWait);

    private static TimeSpan Ticks(string[] fields, int index) =>
        fields.Length > index ? TimeSpan.FromSeconds(long.Parse(fields[index], CultureInfo.InvariantCulture) / (double)ServerProcess.ClockTicksPerSecond) : TimeSpan.Zero;
}
