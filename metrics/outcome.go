package metrics

import (
	"errors"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// OutcomeRejected is the outcome label value of a handling that a circuit
// breaker rejected without calling the handler: a retry whose error
// matches [middleware.ErrBreakerOpen]. It is counted apart from retries,
// so that an open breaker does not pass for a failing handler.
const OutcomeRejected = "rejected"

// Outcome label values: the handler's outcomes, and rejections.
var outcomes = [...]string{core.OutcomeSuccess.String(), core.OutcomeRetry.String(), core.OutcomeError.String(), OutcomeRejected}

// outcomeLabel is the outcome label of a handling's result. Unknown
// outcomes count as errors, as the worker treats them.
func outcomeLabel(res core.Result) string {
	switch {
	case res.Outcome == core.OutcomeRetry && res.Err != nil && errors.Is(res.Err, middleware.ErrBreakerOpen):
		return OutcomeRejected
	case res.Outcome > core.OutcomeError:
		return core.OutcomeError.String()
	}
	return res.Outcome.String()
}
