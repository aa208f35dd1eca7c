namespace TelehealthMessaging.Intake;

/// <summary>
/// Checks intake answers against red-flag rules before submission and returns <see cref="EmergencyAdvice"/> when
/// any rule fires. Only answers of items enabled by <c>enableWhen</c> count.
/// </summary>
/// <remarks>Immutable after construction (the options are copied) and thread-safe.</remarks>
public sealed class RedFlagEvaluator
{
    private readonly RedFlagRule[] _rules;
    private readonly EmergencyRegion _region;
    private readonly string _emergencyNumber;

    /// <summary>Creates an evaluator with the default rules and region.</summary>
    public RedFlagEvaluator()
        : this(new RedFlagOptions())
    {
    }

    /// <summary>Creates an evaluator from <paramref name="options"/>.</summary>
    /// <param name="options">The rules and region.</param>
    /// <exception cref="ArgumentException">The region is not defined, the number override is blank, or a rule is null.</exception>
    public RedFlagEvaluator(RedFlagOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.Region))
        {
            throw new ArgumentException("RedFlagOptions.Region is not a defined region.", nameof(options));
        }

        if (options.EmergencyNumber is { } number && string.IsNullOrWhiteSpace(number))
        {
            throw new ArgumentException("RedFlagOptions.EmergencyNumber must be null or a number.", nameof(options));
        }

        _rules = [.. options.Rules];
        if (Array.Exists(_rules, r => r is null))
        {
            throw new ArgumentException("RedFlagOptions.Rules contains a null rule.", nameof(options));
        }

        _region = options.Region;
        _emergencyNumber = options.EmergencyNumber ?? DefaultNumber(options.Region);
    }

    /// <summary>Checks <paramref name="answers"/> (an intake being filled, or a submitted or imported one).</summary>
    /// <param name="answers">The answers to check.</param>
    /// <returns>The advice when at least one rule fires; otherwise <see langword="null"/>.</returns>
    public EmergencyAdvice? Evaluate(IntakeAnswerReader answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        // Rules look at the whole intake even when handed one group instance.
        AnswerNode root = answers.Node;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        AnswerNode enabled = IntakeRules.EnabledCopy(answers.Form, root);
        List<string>? fired = null;
        foreach (RedFlagRule rule in _rules)
        {
            if (rule.AppliesTo(answers.Form) && rule.IsMetBy(answers.Form, enabled))
            {
                (fired ??= []).Add(rule.Id);
            }
        }

        return fired is null ? null : new EmergencyAdvice(_region, _emergencyNumber, fired.AsReadOnly());
    }

    private static string DefaultNumber(EmergencyRegion region) => region switch
    {
        EmergencyRegion.Korea => "119",
        EmergencyRegion.EuropeanUnion => "112",
        _ => "911",
    };
}
