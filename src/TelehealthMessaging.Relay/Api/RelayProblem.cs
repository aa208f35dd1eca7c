using System.Globalization;

namespace TelehealthMessaging.Relay.Api;

/// <summary>
/// Error answers: RFC 9457 problem+json with a stable machine-readable <c>code</c> member. Titles and details name
/// fields and limits only, never request content.
/// </summary>
internal static class RelayProblem
{
    public static IResult Create(int status, string code, string title, string? detail = null, TimeSpan? retryAfter = null)
    {
        IResult problem = Results.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            type: "https://github.com/telehealthmessaging/telehealthmessaging/blob/main/docs/relay.md#" + code.Replace('_', '-'),
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["code"] = code });
        return retryAfter is { } delay ? new RetryAfterResult(problem, delay) : problem;
    }

    public static IResult BadRequest(string code, string title, string? detail = null) => Create(StatusCodes.Status400BadRequest, code, title, detail);

    public static IResult Unauthorized(string code, string title) => Create(StatusCodes.Status401Unauthorized, code, title);

    public static IResult TooLarge(string title, string? detail = null) => Create(StatusCodes.Status413PayloadTooLarge, "too_large", title, detail);

    public static IResult ToResult(this RelayRefusal refusal) => Create(refusal.Status, refusal.Code, refusal.Title, refusal.Detail, refusal.RetryAfter);

    private sealed class RetryAfterResult(IResult inner, TimeSpan delay) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            int seconds = (int)Math.Max(1, Math.Ceiling(delay.TotalSeconds));
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>
/// A refusal independent of how the request came in: answered as problem+json over HTTP, as a <c>refused</c> frame
/// over the WebSocket.
/// </summary>
internal sealed record RelayRefusal(int Status, string Code, string Title, string? Detail = null, TimeSpan? RetryAfter = null)
{
    public static RelayRefusal BadRequest(string code, string title, string? detail = null) => new(StatusCodes.Status400BadRequest, code, title, detail);

    public static RelayRefusal TooLarge(string title, string? detail = null) => new(StatusCodes.Status413PayloadTooLarge, "too_large", title, detail);
}
