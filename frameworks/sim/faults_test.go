package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec string
		want Faults
		err  string
	}{
		{spec: "", want: Faults{}},
		{spec: "stall=0.01, cut=0.02,crash_after=500", want: Faults{StallRate: 0.01, CutRate: 0.02, CrashAfter: 500}},
		{spec: "rate_limit=0.1,retry_after=3s,slow_start=2m", want: Faults{RateLimitRate: 0.1, RetryAfter: 3 * time.Second, SlowStart: 2 * time.Minute}},
		{spec: "error=0.1,error_event=0.1,tokenless=0.1,short=0.1", want: Faults{ErrorRate: 0.1, ErrorEventRate: 0.1, TokenlessRate: 0.1, ShortRate: 0.1}},
		{spec: "stal=0.1", err: `unknown fault "stal"`},
		{spec: "stall", err: "write name=value"},
		{spec: "stall=lots", err: `"stall=lots"`},
		{spec: "stall=1.5", err: "not in [0, 1]"},
		{spec: "stall=0.6,cut=0.6", err: "add up to"},
		{spec: "slow_start=5", err: "missing unit"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFaults(tc.spec)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFaultDrawFollowsTheRates(t *testing.T) {
	f := Faults{ErrorRate: 0.1, StallRate: 0.2, ShortRate: 0.3}
	got := map[Fault]int{}
	const n = 1000
	for i := range n {
		got[f.draw((float64(i)+0.5)/n)]++
	}
	assert.Equal(t, map[Fault]int{FaultError: 100, FaultStall: 200, FaultShort: 300, NoFault: 400}, got)
}
