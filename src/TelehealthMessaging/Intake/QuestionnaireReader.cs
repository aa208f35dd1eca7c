using System.Text.Json;

namespace TelehealthMessaging.Intake;

// Interprets a FHIR R4 Questionnaire. Unknown properties and extensions are skipped (a form loads as it is); anything
// the SDK would have to guess about is rejected with a message naming the JSON path or linkId.
internal static class QuestionnaireReader
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    private const string OrdinalValueUrl = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
    private const string ItemWeightUrl = "http://hl7.org/fhir/StructureDefinition/itemWeight";
    private const string MinValueUrl = "http://hl7.org/fhir/StructureDefinition/minValue";
    private const string MaxValueUrl = "http://hl7.org/fhir/StructureDefinition/maxValue";
    private const string HiddenUrl = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden";
    private const string RegexUrl = "http://hl7.org/fhir/StructureDefinition/regex";
    private const string UnitOptionUrl = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption";

    public static JsonDocument ParseDocument(Func<JsonDocument> parse)
    {
        try
        {
            return parse();
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
    }

    // JsonException messages give line and byte positions, never document content.
    public static TelehealthException Malformed(JsonException ex) =>
        new(TelehealthErrorCode.InvalidFormat, "The Questionnaire is not well-formed JSON.", ex);

    public static IntakeForm Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("$", "the document is not a JSON object");
        }

        if (FhirValueJson.OptionalString(root, "resourceType") != "Questionnaire")
        {
            throw Invalid("$.resourceType", "the resource is not a Questionnaire");
        }

        var context = new Context(ReadContainedValueSets(root));
        List<IntakeItem> items = ReadItems(root, "$", context);

        foreach (IntakeItem item in context.AllItems)
        {
            item.FormItems = context.ByLinkId;
            CheckEnableWhen(item, context.ByLinkId);
        }

        CheckNoEnableWhenCycle(context.AllItems, context.ByLinkId);

        return new IntakeForm(
            FhirValueJson.OptionalString(root, "id"),
            FhirValueJson.OptionalString(root, "url"),
            FhirValueJson.OptionalString(root, "version"),
            FhirValueJson.OptionalString(root, "name"),
            FhirValueJson.OptionalString(root, "title"),
            FhirValueJson.OptionalString(root, "status"),
            items,
            context.ByLinkId,
            context.AllItems);
    }

    private static Dictionary<string, JsonElement> ReadContainedValueSets(JsonElement root)
    {
        var valueSets = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (root.TryGetProperty("contained", out JsonElement contained) && contained.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement resource in contained.EnumerateArray())
            {
                string? id = FhirValueJson.OptionalString(resource, "id");
                if (id is not null && FhirValueJson.OptionalString(resource, "resourceType") == "ValueSet")
                {
                    valueSets[id] = resource.Clone();
                }
            }
        }

        return valueSets;
    }

    private static List<IntakeItem> ReadItems(JsonElement owner, string ownerPath, Context context)
    {
        var items = new List<IntakeItem>();
        if (!owner.TryGetProperty("item", out JsonElement array))
        {
            return items;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(ownerPath + ".item", "item must be an array");
        }

        int index = 0;
        foreach (JsonElement element in array.EnumerateArray())
        {
            items.Add(ReadItem(element, $"{ownerPath}.item[{index}]", context));
            index++;
        }

        return items;
    }

    private static IntakeItem ReadItem(JsonElement json, string path, Context context)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "an item must be a JSON object");
        }

        string linkId = FhirValueJson.OptionalString(json, "linkId") is { Length: > 0 } l ? l : throw Invalid(path, "linkId is missing");
        string where = $"{path} (linkId '{linkId}')";
        if (context.ByLinkId.ContainsKey(linkId))
        {
            throw Invalid(where, "the linkId is used by another item");
        }

        // Reserve the linkId before reading children so that a child repeating it is reported as a duplicate.
        context.ByLinkId[linkId] = null!;
        int position = context.AllItems.Count;
        context.AllItems.Add(null!);

        string typeName = FhirValueJson.OptionalString(json, "type") ?? throw Invalid(where, "type is missing");
        IntakeItemType type = ParseType(typeName) ?? throw Invalid(where, $"item type '{typeName}' is not an R4 item type");
        bool isQuestion = type is not (IntakeItemType.Group or IntakeItemType.Display);

        bool required = OptionalBoolean(json, "required", where);
        bool repeats = OptionalBoolean(json, "repeats", where);
        bool readOnly = OptionalBoolean(json, "readOnly", where);
        if (type == IntakeItemType.Display && (required || repeats))
        {
            throw Invalid(where, "a display item cannot be required or repeat");
        }

        int? maxLength = null;
        if (json.TryGetProperty("maxLength", out JsonElement maxLengthJson))
        {
            maxLength = maxLengthJson.ValueKind == JsonValueKind.Number && maxLengthJson.TryGetInt32(out int m) && m > 0
                ? m
                : throw Invalid(where, "maxLength must be a positive integer");
        }

        var codes = new List<Coding>();
        if (json.TryGetProperty("code", out JsonElement codeArray) && codeArray.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement c in codeArray.EnumerateArray())
            {
                // A Coding may carry only a system or display; it names no concept a rule could match, so it is skipped.
                if (FhirValueJson.ReadCoding(c) is Coding coding)
                {
                    codes.Add(coding);
                }
            }
        }

        bool isChoice = type is IntakeItemType.Choice or IntakeItemType.OpenChoice;
        string? answerValueSet = FhirValueJson.OptionalString(json, "answerValueSet");
        bool hasAnswerOption = json.TryGetProperty("answerOption", out JsonElement optionArray);
        if ((answerValueSet is not null || hasAnswerOption) && !isChoice)
        {
            throw Invalid(where, $"answerOption and answerValueSet are only allowed on choice and open-choice items, not on '{typeName}'");
        }

        if (answerValueSet is not null && hasAnswerOption)
        {
            throw Invalid(where, "an item cannot have both answerOption and answerValueSet");
        }

        var options = new List<IntakeAnswerOption>();
        if (hasAnswerOption)
        {
            ReadAnswerOptions(optionArray, where, options);
        }
        else if (answerValueSet is not null && answerValueSet.StartsWith('#'))
        {
            if (!context.ValueSets.TryGetValue(answerValueSet[1..], out JsonElement valueSet))
            {
                throw Invalid(where, $"answerValueSet '{answerValueSet}' names no contained ValueSet");
            }

            ExpandContained(valueSet, where, options);
        }

        var initial = new List<IntakeAnswerValue>();
        if (json.TryGetProperty("initial", out JsonElement initialArray))
        {
            if (!isQuestion || initialArray.ValueKind != JsonValueKind.Array)
            {
                throw Invalid(where, "initial must be an array and is only allowed on questions");
            }

            foreach (JsonElement entry in initialArray.EnumerateArray())
            {
                IntakeAnswerValue value = ReadRequiredValue(entry, "value", where + ".initial");
                initial.Add(value);
            }

            if (initial.Count > 1 && !repeats)
            {
                throw Invalid(where, "only a repeating item can have several initial values");
            }
        }

        var enableWhen = new List<EnableWhenCondition>();
        if (json.TryGetProperty("enableWhen", out JsonElement conditions) && conditions.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement condition in conditions.EnumerateArray())
            {
                enableWhen.Add(ReadCondition(condition, where));
            }
        }

        EnableBehavior behavior = EnableBehavior.All;
        string? behaviorName = FhirValueJson.OptionalString(json, "enableBehavior");
        if (behaviorName is not null)
        {
            behavior = behaviorName switch
            {
                "all" => EnableBehavior.All,
                "any" => EnableBehavior.Any,
                _ => throw Invalid(where, $"enableBehavior '{behaviorName}' is neither 'all' nor 'any'"),
            };
        }
        else if (enableWhen.Count > 1)
        {
            // R4 invariant que-12: without it, whether the conditions combine as all or any would be a guess.
            throw Invalid(where, "enableBehavior is required when there are several enableWhen conditions");
        }

        IntakeAnswerValue? minValue = null;
        IntakeAnswerValue? maxValue = null;
        bool hidden = false;
        string? pattern = null;
        var unitOptions = new List<Coding>();
        if (json.TryGetProperty("extension", out JsonElement extensions) && extensions.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement extension in extensions.EnumerateArray())
            {
                switch (FhirValueJson.OptionalString(extension, "url"))
                {
                    case MinValueUrl:
                        minValue = ReadLimit(extension, type, where, "minValue");
                        break;
                    case MaxValueUrl:
                        maxValue = ReadLimit(extension, type, where, "maxValue");
                        break;
                    case HiddenUrl:
                        hidden = extension.TryGetProperty("valueBoolean", out JsonElement h) && h.ValueKind == JsonValueKind.True;
                        break;
                    case RegexUrl:
                        pattern = FhirValueJson.OptionalString(extension, "valueString")
                            ?? throw Invalid(where, "a regex extension needs a valueString");
                        break;
                    case UnitOptionUrl:
                        unitOptions.Add(type == IntakeItemType.Quantity
                            && extension.TryGetProperty("valueCoding", out JsonElement unit)
                            && FhirValueJson.ReadCoding(unit) is Coding unitCoding
                                ? unitCoding
                                : throw Invalid(where, "a unitOption needs a valueCoding with a code and belongs on a quantity item"));
                        break;
                }
            }
        }

        List<IntakeItem> children = ReadItems(json, path, context);
        var item = new IntakeItem(
            linkId,
            type,
            FhirValueJson.OptionalString(json, "text"),
            FhirValueJson.OptionalString(json, "prefix"),
            FhirValueJson.OptionalString(json, "definition"),
            required,
            repeats,
            readOnly,
            hidden,
            maxLength,
            codes,
            options,
            answerValueSet,
            initial,
            enableWhen,
            behavior,
            minValue,
            maxValue,
            unitOptions,
            pattern,
            children);

        if (pattern is not null && !item.HasValidPattern)
        {
            throw Invalid(where, "the regex extension is not a valid regular expression");
        }

        foreach (IntakeAnswerValue value in initial)
        {
            if (!item.Accepts(value))
            {
                throw Invalid(where, $"an initial value does not fit item type '{typeName}'");
            }
        }

        foreach (IntakeAnswerOption option in options)
        {
            if (!item.Accepts(option.Value))
            {
                throw Invalid(where, $"an answerOption does not fit item type '{typeName}'");
            }
        }

        context.ByLinkId[linkId] = item;
        context.AllItems[position] = item;
        return item;
    }

    private static void ReadAnswerOptions(JsonElement optionArray, string where, List<IntakeAnswerOption> options)
    {
        if (optionArray.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(where, "answerOption must be an array");
        }

        int index = 0;
        foreach (JsonElement option in optionArray.EnumerateArray())
        {
            string optionPath = $"{where}.answerOption[{index}]";
            IntakeAnswerValue value = ReadRequiredValue(option, "value", optionPath);
            bool selected = OptionalBoolean(option, "initialSelected", optionPath);
            options.Add(new IntakeAnswerOption(value, selected, ReadOrdinal(option, optionPath)));
            index++;
        }
    }

    // Only enumerated concepts can become options; a contained ValueSet built from filters or whole code systems
    // leaves the item without options, and coded answers are then accepted without a membership check.
    private static void ExpandContained(JsonElement valueSet, string where, List<IntakeAnswerOption> options)
    {
        if (!valueSet.TryGetProperty("compose", out JsonElement compose)
            || !compose.TryGetProperty("include", out JsonElement includes)
            || includes.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (JsonElement include in includes.EnumerateArray())
        {
            string? system = FhirValueJson.OptionalString(include, "system");
            if (!include.TryGetProperty("concept", out JsonElement concepts) || concepts.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (JsonElement concept in concepts.EnumerateArray())
            {
                string code = FhirValueJson.OptionalString(concept, "code") is { Length: > 0 } c
                    ? c
                    : throw Invalid(where, "a concept of the contained answer ValueSet has no code");
                var coding = new Coding(system, code, FhirValueJson.OptionalString(concept, "display"));
                options.Add(new IntakeAnswerOption(new CodingAnswer(coding), false, ReadOrdinal(concept, where + " answer ValueSet concept")));
            }
        }
    }

    private static decimal? ReadOrdinal(JsonElement owner, string where)
    {
        if (!owner.TryGetProperty("extension", out JsonElement extensions) || extensions.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (JsonElement extension in extensions.EnumerateArray())
        {
            if (FhirValueJson.OptionalString(extension, "url") is OrdinalValueUrl or ItemWeightUrl)
            {
                return FhirValueJson.Read(extension, "value", out IntakeAnswerValue? value, out _) == ValueReadStatus.Read
                    ? value switch
                    {
                        DecimalAnswer d => d.Value,
                        IntegerAnswer i => i.Value,
                        _ => throw Invalid(where, "ordinalValue must be a decimal"),
                    }
                    : throw Invalid(where, "ordinalValue must be a decimal");
            }
        }

        return null;
    }

    private static EnableWhenCondition ReadCondition(JsonElement json, string where)
    {
        string question = FhirValueJson.OptionalString(json, "question") is { Length: > 0 } q
            ? q
            : throw Invalid(where, "an enableWhen has no question");
        string operatorName = FhirValueJson.OptionalString(json, "operator") ?? throw Invalid(where, "an enableWhen has no operator");
        EnableWhenOperator op = operatorName switch
        {
            "exists" => EnableWhenOperator.Exists,
            "=" => EnableWhenOperator.Equal,
            "!=" => EnableWhenOperator.NotEqual,
            ">" => EnableWhenOperator.GreaterThan,
            "<" => EnableWhenOperator.LessThan,
            ">=" => EnableWhenOperator.GreaterOrEqual,
            "<=" => EnableWhenOperator.LessOrEqual,
            _ => throw Invalid(where, $"enableWhen operator '{operatorName}' is not an R4 operator"),
        };
        IntakeAnswerValue answer = ReadRequiredValue(json, "answer", where + ".enableWhen");
        if (op == EnableWhenOperator.Exists && answer is not BooleanAnswer)
        {
            throw Invalid(where, "an 'exists' enableWhen needs answerBoolean");
        }

        return new EnableWhenCondition(question, op, answer);
    }

    private static IntakeAnswerValue ReadLimit(JsonElement extension, IntakeItemType type, string where, string name)
    {
        if (FhirValueJson.Read(extension, "value", out IntakeAnswerValue? value, out _) != ValueReadStatus.Read)
        {
            throw Invalid(where, $"the {name} extension has no readable value");
        }

        bool fits = type switch
        {
            IntakeItemType.Integer or IntakeItemType.Decimal => value is IntegerAnswer or DecimalAnswer,
            IntakeItemType.Date => value is DateAnswer,
            IntakeItemType.DateTime => value is DateTimeAnswer,
            IntakeItemType.Time => value is TimeAnswer,
            IntakeItemType.Quantity => value is IntegerAnswer or DecimalAnswer or QuantityAnswer,
            _ => false,
        };
        return fits ? value! : throw Invalid(where, $"the {name} extension does not fit item type '{IntakeItem.TypeName(type)}'");
    }

    private static void CheckEnableWhen(IntakeItem item, Dictionary<string, IntakeItem> byLinkId)
    {
        foreach (EnableWhenCondition condition in item.EnableWhen)
        {
            string where = $"item '{item.LinkId}'";
            if (!byLinkId.TryGetValue(condition.QuestionLinkId, out IntakeItem? source))
            {
                throw Invalid(where, $"enableWhen refers to '{condition.QuestionLinkId}', which is not in the form");
            }

            if (!source.IsQuestion)
            {
                throw Invalid(where, $"enableWhen refers to '{condition.QuestionLinkId}', which is a group or display item");
            }

            if (condition.Operator == EnableWhenOperator.Exists)
            {
                continue;
            }

            bool numeric = source.Type is IntakeItemType.Integer or IntakeItemType.Decimal
                && condition.Answer is IntegerAnswer or DecimalAnswer;
            if (!numeric && !source.Accepts(condition.Answer))
            {
                throw Invalid(where, $"the enableWhen answer on '{condition.QuestionLinkId}' does not fit its type '{IntakeItem.TypeName(source.Type)}'");
            }

            bool ordered = condition.Operator is not (EnableWhenOperator.Equal or EnableWhenOperator.NotEqual);
            if (ordered && !AnswerComparison.IsOrdered(condition.Answer))
            {
                throw Invalid(where, $"the enableWhen on '{condition.QuestionLinkId}' orders a value that has no order (only = and != apply)");
            }
        }
    }

    // Whether an item is enabled depends on its ancestors and on the items its conditions read; a cycle would make
    // enablement undefined.
    private static void CheckNoEnableWhenCycle(List<IntakeItem> items, Dictionary<string, IntakeItem> byLinkId)
    {
        var state = new Dictionary<IntakeItem, bool>(); // false: on the current path, true: done
        foreach (IntakeItem item in items)
        {
            Visit(item);
        }

        void Visit(IntakeItem item)
        {
            if (state.TryGetValue(item, out bool done))
            {
                if (!done)
                {
                    throw Invalid($"item '{item.LinkId}'", "enableWhen conditions depend on each other in a cycle");
                }

                return;
            }

            state[item] = false;
            if (item.Parent is not null)
            {
                Visit(item.Parent);
            }

            foreach (EnableWhenCondition condition in item.EnableWhen)
            {
                Visit(byLinkId[condition.QuestionLinkId]);
            }

            state[item] = true;
        }
    }

    private static IntakeAnswerValue ReadRequiredValue(JsonElement owner, string prefix, string where)
    {
        if (owner.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(where, "expected a JSON object");
        }

        return FhirValueJson.Read(owner, prefix, out IntakeAnswerValue? value, out string? property) switch
        {
            ValueReadStatus.Read => value!,
            ValueReadStatus.Absent => throw Invalid(where, $"{prefix}[x] is missing"),
            ValueReadStatus.Unsupported => throw Invalid(where, $"'{property}' is not a supported value type"),
            _ => throw Invalid(where, $"'{property}' is malformed"),
        };
    }

    private static bool OptionalBoolean(JsonElement owner, string name, string where)
    {
        if (!owner.TryGetProperty(name, out JsonElement value))
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(where, $"{name} must be true or false"),
        };
    }

    private static IntakeItemType? ParseType(string name) => name switch
    {
        "group" => IntakeItemType.Group,
        "display" => IntakeItemType.Display,
        "boolean" => IntakeItemType.Boolean,
        "decimal" => IntakeItemType.Decimal,
        "integer" => IntakeItemType.Integer,
        "date" => IntakeItemType.Date,
        "dateTime" => IntakeItemType.DateTime,
        "time" => IntakeItemType.Time,
        "string" => IntakeItemType.String,
        "text" => IntakeItemType.Text,
        "url" => IntakeItemType.Url,
        "choice" => IntakeItemType.Choice,
        "open-choice" => IntakeItemType.OpenChoice,
        "attachment" => IntakeItemType.Attachment,
        "reference" => IntakeItemType.Reference,
        "quantity" => IntakeItemType.Quantity,
        _ => null,
    };

    private static TelehealthException Invalid(string where, string problem) =>
        new(TelehealthErrorCode.InvalidFormat, $"The Questionnaire cannot be loaded: {where}: {problem}.");

    private sealed class Context(Dictionary<string, JsonElement> valueSets)
    {
        public Dictionary<string, JsonElement> ValueSets { get; } = valueSets;

        public Dictionary<string, IntakeItem> ByLinkId { get; } = new(StringComparer.Ordinal);

        public List<IntakeItem> AllItems { get; } = [];
    }
}
