namespace TelehealthMessaging.Intake;

// enableWhen evaluation and answer validation over an answer tree. Per FHIR: an item is enabled when its ancestors are
// and its conditions hold; a disabled question counts as unanswered when other conditions read it; a condition on a
// question in a repeating group that is not an ancestor of the item holds when any instance satisfies it.
internal static class IntakeRules
{
    public static bool IsEnabled(IntakeItem item, AnswerNode scope)
    {
        // scope is the node of item.RepeatingOwner (the root when null).
        if (item.Parent is IntakeItem parent)
        {
            AnswerNode parentScope = parent.Type == IntakeItemType.Group && parent.Repeats ? scope.Parent! : scope;
            if (!IsEnabled(parent, parentScope))
            {
                return false;
            }
        }

        if (item.EnableWhen.Count == 0)
        {
            return true;
        }

        bool any = false;
        bool all = true;
        foreach (EnableWhenCondition condition in item.EnableWhen)
        {
            bool holds = AnswerComparison.Satisfies(condition, EnabledAnswersSeenFrom(condition.QuestionLinkId, item, scope));
            any |= holds;
            all &= holds;
        }

        return item.EnableBehavior == EnableBehavior.Any ? any : all;
    }

    private static List<IntakeAnswerValue> EnabledAnswersSeenFrom(string sourceLinkId, IntakeItem item, AnswerNode scope)
    {
        IntakeItem source = item.FormItems[sourceLinkId];
        IntakeItem? owner = source.RepeatingOwner;
        var answers = new List<IntakeAnswerValue>();

        // The source's scope is the item's own scope or one of its ancestors: read that one instance.
        for (AnswerNode? node = scope; node is not null; node = node.Parent)
        {
            if (node.Group == owner)
            {
                AddIfEnabled(source, node, answers);
                return answers;
            }
        }

        // Otherwise the source sits in a repeating group elsewhere: any of its instances counts.
        AnswerNode root = scope;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        foreach (AnswerNode node in ScopesOf(owner!, root))
        {
            AddIfEnabled(source, node, answers);
        }

        return answers;
    }

    private static void AddIfEnabled(IntakeItem source, AnswerNode node, List<IntakeAnswerValue> answers)
    {
        IReadOnlyList<IntakeAnswerValue> values = node.AnswersOf(source.LinkId);
        if (values.Count > 0 && IsEnabled(source, node))
        {
            answers.AddRange(values);
        }
    }

    // Every instance of a repeating group, wherever its enclosing instances are.
    public static IEnumerable<AnswerNode> ScopesOf(IntakeItem repeatingGroup, AnswerNode root)
    {
        if (repeatingGroup.RepeatingOwner is IntakeItem outer)
        {
            foreach (AnswerNode outerScope in ScopesOf(outer, root))
            {
                foreach (AnswerNode instance in outerScope.InstancesOf(repeatingGroup.LinkId))
                {
                    yield return instance;
                }
            }
        }
        else
        {
            foreach (AnswerNode instance in root.InstancesOf(repeatingGroup.LinkId))
            {
                yield return instance;
            }
        }
    }

    public static List<IntakeProblem> Validate(IntakeForm form, AnswerNode root)
    {
        var problems = new List<IntakeProblem>();
        ValidateItems(form.Items, root, string.Empty, problems);
        return problems;
    }

    private static void ValidateItems(IReadOnlyList<IntakeItem> items, AnswerNode scope, string prefix, List<IntakeProblem> problems)
    {
        foreach (IntakeItem item in items)
        {
            if (!IsEnabled(item, scope))
            {
                continue;
            }

            string path = prefix + item.LinkId;
            switch (item.Type)
            {
                case IntakeItemType.Display:
                    break;
                case IntakeItemType.Group when item.Repeats:
                    IReadOnlyList<AnswerNode> instances = scope.InstancesOf(item.LinkId);
                    if (item.Required && !instances.Any(i => HasEnabledAnswers(item.Items, i)))
                    {
                        problems.Add(new IntakeProblem(path, IntakeProblemCode.Required, $"Group '{item.LinkId}' needs at least one answered instance."));
                    }

                    for (int i = 0; i < instances.Count; i++)
                    {
                        ValidateItems(item.Items, instances[i], $"{prefix}{item.LinkId}[{i}]/", problems);
                    }

                    break;
                case IntakeItemType.Group:
                    if (item.Required && !HasEnabledAnswers(item.Items, scope))
                    {
                        problems.Add(new IntakeProblem(path, IntakeProblemCode.Required, $"Group '{item.LinkId}' needs at least one answer."));
                    }

                    ValidateItems(item.Items, scope, prefix, problems);
                    break;
                default:
                    ValidateQuestion(item, scope.AnswersOf(item.LinkId), path, problems);
                    if (item.Items.Count > 0)
                    {
                        if (scope.AnswersOf(item.LinkId).Count == 0 && HasEnabledAnswers(item.Items, scope))
                        {
                            problems.Add(new IntakeProblem(path, IntakeProblemCode.InvalidNesting, $"Items nested under '{item.LinkId}' are answered, but '{item.LinkId}' is not."));
                        }

                        ValidateItems(item.Items, scope, prefix, problems);
                    }

                    break;
            }
        }
    }

    private static void ValidateQuestion(IntakeItem item, IReadOnlyList<IntakeAnswerValue> answers, string path, List<IntakeProblem> problems)
    {
        if (answers.Count == 0)
        {
            if (item.Required)
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.Required, $"Item '{item.LinkId}' is required."));
            }

            return;
        }

        if (answers.Count > 1 && !item.Repeats)
        {
            problems.Add(new IntakeProblem(path, IntakeProblemCode.TooManyAnswers, $"Item '{item.LinkId}' takes one answer but has {answers.Count}."));
        }

        foreach (IntakeAnswerValue answer in answers)
        {
            if (!item.Accepts(answer))
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongType, $"Item '{item.LinkId}' takes {item.ExpectedKinds}, not {answer.GetType().Name}."));
                continue;
            }

            if (item.MaxLength is int maxLength && TextOf(answer) is string text && text.Length > maxLength)
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.MaxLengthExceeded, $"The answer to '{item.LinkId}' is longer than {maxLength} characters."));
            }

            if (item.Pattern is not null && TextOf(answer) is string patterned && !item.MatchesPattern(patterned))
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.PatternMismatch, $"The answer to '{item.LinkId}' does not have the form's required format."));
            }

            if (item.MinValue is IntakeAnswerValue min && AnswerComparison.Compare(answer, min) is int belowOrder && belowOrder < 0)
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.BelowMinimum, $"The answer to '{item.LinkId}' is below the form's minimum."));
            }

            if (item.MaxValue is IntakeAnswerValue max && AnswerComparison.Compare(answer, max) is int aboveOrder && aboveOrder > 0)
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.AboveMaximum, $"The answer to '{item.LinkId}' is above the form's maximum."));
            }

            if (answer is QuantityAnswer
                && ((item.MinValue is QuantityAnswer qmin && AnswerComparison.Compare(answer, qmin) is null)
                    || (item.MaxValue is QuantityAnswer qmax && AnswerComparison.Compare(answer, qmax) is null)))
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongUnit, $"The answer to '{item.LinkId}' is not in the unit of the form's limits."));
            }

            if (answer is QuantityAnswer { Value: var quantity } && item.UnitOptions.Count > 0
                && (quantity.Code is null || !item.UnitOptions.Any(u => u.Matches(new Coding(quantity.System, quantity.Code)))))
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.WrongUnit, $"The answer to '{item.LinkId}' is not in one of the item's units."));
            }

            bool freeText = item.Type == IntakeItemType.OpenChoice && answer is StringAnswer;
            if (item.AnswerOptions.Count > 0 && !freeText && item.FindOption(answer) is null)
            {
                problems.Add(new IntakeProblem(path, IntakeProblemCode.NotAnOption, $"The answer to '{item.LinkId}' is not one of its options."));
            }
        }
    }

    private static string? TextOf(IntakeAnswerValue answer) => answer switch
    {
        StringAnswer s => s.Value,
        UriAnswer u => u.Value.OriginalString,
        _ => null,
    };

    public static bool HasEnabledAnswers(IReadOnlyList<IntakeItem> items, AnswerNode scope)
    {
        foreach (IntakeItem item in items)
        {
            if (!IsEnabled(item, scope))
            {
                continue;
            }

            bool answered = item.Type switch
            {
                IntakeItemType.Display => false,
                IntakeItemType.Group when item.Repeats => scope.InstancesOf(item.LinkId).Any(i => HasEnabledAnswers(item.Items, i)),
                IntakeItemType.Group => HasEnabledAnswers(item.Items, scope),
                _ => scope.AnswersOf(item.LinkId).Count > 0 || HasEnabledAnswers(item.Items, scope),
            };
            if (answered)
            {
                return true;
            }
        }

        return false;
    }

    // A copy holding only the answers of enabled items, without empty group instances: what is submitted and exported.
    public static AnswerNode EnabledCopy(IntakeForm form, AnswerNode root)
    {
        var copy = new AnswerNode(null, null);
        CopyItems(form.Items, root, copy);
        return copy;
    }

    private static void CopyItems(IReadOnlyList<IntakeItem> items, AnswerNode source, AnswerNode target)
    {
        foreach (IntakeItem item in items)
        {
            if (!IsEnabled(item, source))
            {
                continue;
            }

            if (item.Type == IntakeItemType.Group && item.Repeats)
            {
                foreach (AnswerNode instance in source.InstancesOf(item.LinkId))
                {
                    if (HasEnabledAnswers(item.Items, instance))
                    {
                        CopyItems(item.Items, instance, target.AddInstance(item));
                    }
                }

                continue;
            }

            foreach (IntakeAnswerValue answer in source.AnswersOf(item.LinkId))
            {
                target.AddAnswer(item.LinkId, answer);
            }

            CopyItems(item.Items, source, target);
        }
    }
}
