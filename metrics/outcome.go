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

// Outcome label values, by index: the handler's outcomes, and rejections.
var outcomes = [...]string{
	outcomeSuccess:  core.OutcomeSuccess.String(),
	outcomeRetry:    core.OutcomeRetry.String(),
	outcomeError:    core.OutcomeError.String(),
	outcomeRejected: OutcomeRejected,
}

// Indexes of outcomes.
const (
	outcomeSuccess = iota
	outcomeRetry
	outcomeError
	outcomeRejected
)

// outcomeIndex is the index in outcomes of a handling's result. Unknown
// outcomes count as errors, as the worker treats them.
func outcomeIndex(res core.Result) int {
	switch {
	case res.Outcome == core.OutcomeRetry && res.Err != nil && errors.Is(res.Err, middleware.ErrBreakerOpen):
		return outcomeRejected
	case res.Outcome == core.OutcomeSuccess:
		return outcomeSuccess
	case res.Outcome == core.OutcomeRetry:
		return outcomeRetry
	}
	return outcomeError
}
