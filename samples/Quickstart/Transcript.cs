namespace TelehealthMessaging.Quickstart;

/// <summary>Prints the story: who did what on which device, and beside it what the relay stored meanwhile.</summary>
internal sealed class Transcript(RelayStorageTally? relay)
{
    private const int WhoWidth = 24;
    private const int WhatWidth = 72;

    public static void Heading(string text)
    {
        Console.WriteLine();
        Console.WriteLine($"== {text} ".PadRight(WhoWidth + WhatWidth + 2, '=').TrimEnd());
    }

    public void Columns()
    {
        Console.WriteLine($"{"who @ device",-WhoWidth}{"what happened",-WhatWidth}  {(relay is null ? "" : "relay stored meanwhile")}");
    }

    /// <summary>One line of the story; the relay column shows what was stored since the previous line.</summary>
    public void Say(Party who, string what) => Say(who.Label, what);

    public void Say(string who, string what)
    {
        string stored = relay?.TakeSinceLast().ToString() ?? "";
        Console.WriteLine($"{who,-WhoWidth}{what,-WhatWidth}  {(stored.Length == 0 ? "" : "| " + stored)}".TrimEnd());
    }

    public static void Note(string text) => Console.WriteLine(new string(' ', WhoWidth) + text);
}
