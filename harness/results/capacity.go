package results

import "github.com/servegate/servegate/schema"

// Capacity modes (schema.UsersMode, schema.RateMode).
const (
	UsersMode = schema.UsersMode
	RateMode  = schema.RateMode
)

// The capacity search's answer is declared in package schema with the rest of the file.
type (
	// Capacity is the answer of a capacity search.
	Capacity = schema.Capacity
	// Probe is one level of a capacity search.
	Probe = schema.Probe
)

// Probe verdicts (schema.ProbePass, ...).
const (
	ProbePass      = schema.ProbePass
	ProbeFail      = schema.ProbeFail
	ProbeUndecided = schema.ProbeUndecided
	ProbeSaturated = schema.ProbeSaturated
)
