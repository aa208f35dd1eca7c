namespace TelehealthMessaging.Intake;

// The answers of one scope: the root of the intake or one instance of a repeating group. Non-repeating groups are
// transparent (linkIds are unique), so a scope holds the answers of every question whose nearest repeating ancestor
// is the scope's group, and the instances of the repeating groups directly inside it.
internal sealed class AnswerNode(IntakeItem? group, AnswerNode? parent)
{
    public IntakeItem? Group { get; } = group;

    public AnswerNode? Parent { get; } = parent;

    public Dictionary<string, List<IntakeAnswerValue>> Answers { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, List<AnswerNode>> Instances { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<IntakeAnswerValue> AnswersOf(string linkId) =>
        Answers.TryGetValue(linkId, out List<IntakeAnswerValue>? list) ? list : [];

    public IReadOnlyList<AnswerNode> InstancesOf(string linkId) =>
        Instances.TryGetValue(linkId, out List<AnswerNode>? list) ? list : [];

    public void AddAnswer(string linkId, IntakeAnswerValue value)
    {
        if (!Answers.TryGetValue(linkId, out List<IntakeAnswerValue>? list))
        {
            Answers[linkId] = list = [];
        }

        list.Add(value);
    }

    public AnswerNode AddInstance(IntakeItem group)
    {
        if (!Instances.TryGetValue(group.LinkId, out List<AnswerNode>? list))
        {
            Instances[group.LinkId] = list = [];
        }

        var instance = new AnswerNode(group, this);
        list.Add(instance);
        return instance;
    }

    public bool IsEmpty => Answers.Values.All(a => a.Count == 0) && Instances.Values.All(i => i.All(n => n.IsEmpty));
}
