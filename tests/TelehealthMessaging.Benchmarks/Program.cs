using BenchmarkDotNet.Running;
using TelehealthMessaging.Benchmarks;

// "overhead" prints the wire overhead of each message kind as JSON for run.sh; anything else goes to BenchmarkDotNet.
if (args is ["overhead"])
{
    Console.WriteLine(MessageOverhead.MeasureJson());
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(SessionBenchmarks).Assembly).Run(args);
return 0;
