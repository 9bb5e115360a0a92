package stream

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class says how a request ended. Every request has exactly one, so a point can say what
// became of each of its requests: none is lost to an aborted run or a warning.
type Class string

// The classes of a request's outcome. Every class but Succeeded is a failure.
const (
	// Succeeded: the stream ended with its terminal event after at least one token (and,
	// under ignore_eos, max_tokens of them).
	Succeeded Class = "ok"
	// HTTPError: the server answered with a status other than 200 (and other than 429).
	HTTPError Class = "http_error"
	// RateLimited: HTTP 429. Its Retry-After is kept on the record; the request is not
	// retried, since a retry inside a measurement would measure the wait.
	RateLimited Class = "rate_limited"
	// ErrorEvent: the server reported an error inside the stream (an SSE error event, an
	// error object in a chunk, an Ollama error line).
	ErrorEvent Class = "error_event"
	// Cut: the stream ended before its terminal event (end of body, connection reset).
	Cut Class = "cut"
	// Stalled: no byte arrived for the stall timeout, before the first byte or between two.
	Stalled Class = "stalled"
	// TimedOut: the request as a whole ran past its timeout while bytes kept coming.
	TimedOut Class = "timed_out"
	// Tokenless: the stream ended properly but carried no token.
	Tokenless Class = "tokenless"
	// Truncated: fewer tokens than max_tokens although the request asked for ignore_eos:
	// the server was told not to stop early, and did.
	Truncated Class = "truncated"
	// Malformed: the body is not the dialect's format.
	Malformed Class = "malformed"
	// NoResponse: no HTTP response arrived (connection refused or closed before the
	// status line).
	NoResponse Class = "no_response"
	// Cancelled: the run itself stopped the request (an interrupt, the suite's deadline).
	// It says nothing about the server, so it is left out of the point's measurements.
	Cancelled Class = "cancelled"
)

// Errors that mark the client's own verdicts on a request, beside ErrMalformed, ErrServer
// and ErrIncomplete.
var (
	// ErrStalled marks a request on which no byte arrived for the stall timeout.
	ErrStalled = errors.New("stalled")
	// ErrRequestTimeout marks a request that ran past its whole-request timeout.
	ErrRequestTimeout = errors.New("request timed out")
	// ErrTokenless marks a stream that ended properly with no token in it.
	ErrTokenless = errors.New("no token received")
	// ErrTruncated marks a stream shorter than max_tokens under ignore_eos.
	ErrTruncated = errors.New("output shorter than max_tokens under ignore_eos")
	// ErrNoResponse marks a request that got no HTTP response.
	ErrNoResponse = errors.New("no response")
)

// StatusError is an HTTP status other than 200. It wraps ErrServer.
type StatusError struct {
	URL  string
	Code int
	// RetryAfter is the Retry-After header as sent (seconds or an HTTP date); empty if none.
	RetryAfter string
	// Body is the start of the response body.
	Body string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%v: POST %s: HTTP %d", ErrServer, e.URL, e.Code)
	if e.RetryAfter != "" {
		s += " (Retry-After: " + e.RetryAfter + ")"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

func (e *StatusError) Unwrap() error { return ErrServer }

// RetryAfter returns the Retry-After header of an HTTP error status; empty if none.
func RetryAfter(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return ""
}

// Classify returns the class of a request that ended with err after chunks token-bearing
// events (err nil: a proper end).
func Classify(err error, chunks int) Class {
	var se *StatusError
	var re *recordedError
	switch {
	case errors.As(err, &re):
		return re.class
	case err == nil && chunks == 0, errors.Is(err, ErrTokenless):
		return Tokenless
	case err == nil:
		return Succeeded
	case errors.As(err, &se):
		if se.Code == 429 {
			return RateLimited
		}
		return HTTPError
	case errors.Is(err, ErrStalled):
		return Stalled
	case errors.Is(err, ErrRequestTimeout):
		return TimedOut
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller's context ended: the run stopped the request, not the server.
		return Cancelled
	case errors.Is(err, ErrTruncated):
		return Truncated
	case errors.Is(err, ErrServer):
		return ErrorEvent
	case errors.Is(err, ErrMalformed):
		return Malformed
	case errors.Is(err, ErrNoResponse):
		return NoResponse
	default:
		// ErrIncomplete, or a read that failed mid-body.
		return Cut
	}
}

// Recorded is a failure read back from a records file, where its message and class were
// kept but not the error values it wrapped: it reads as msg and classifies as c.
func Recorded(c Class, msg string) error { return &recordedError{class: c, msg: msg} }

type recordedError struct {
	class Class
	msg   string
}

func (e *recordedError) Error() string { return e.msg }

// Class is how the request ended (see Classify).
func (r *Record) Class() Class { return Classify(r.Err, len(r.Chunks)) }

// Failed reports whether the class is a failure.
func (c Class) Failed() bool { return c != Succeeded }

// DefaultStallTimeout is how long a stream may go without a byte, before its first or
// between two, when the client sets none: long enough for a server that queues a request
// behind a full batch, short enough that a hung server costs a point minutes, not a run.
const DefaultStallTimeout = 2 * time.Minute
