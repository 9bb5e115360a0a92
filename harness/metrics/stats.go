// Package metrics turns request records into the numbers of a scenario point: latency
// distributions, throughputs, success and goodput. Definitions are in Definitions and in
// docs/METRICS.md; every one is written into the result file.
package metrics

import (
	"math"
	"slices"

	"github.com/servegate/servegate/schema"
	"gonum.org/v1/gonum/stat/distuv"
)

// Distribution summarises a sample.
type Distribution struct {
	N                                       int
	Mean, Std, Min, Max, P50, P90, P95, P99 float64
}

// Percentile returns the q-th percentile (0..100) of sorted values by linear interpolation
// between closest ranks, as numpy.percentile does by default (and so vLLM and SGLang).
func Percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	rank := q / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	if lo == hi {
		return sorted[lo]
	}
	return sorted[lo] + (rank-float64(lo))*(sorted[hi]-sorted[lo])
}

// Describe summarises xs. Std is the population standard deviation (numpy's default, as
// in vLLM's results), describing this sample rather than estimating a population.
func Describe(xs []float64) Distribution {
	if len(xs) == 0 {
		return Distribution{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	return Distribution{
		N: len(s), Mean: mean, Std: math.Sqrt(ss / float64(len(s))),
		Min: s[0], Max: s[len(s)-1],
		P50: Percentile(s, 50), P90: Percentile(s, 90), P95: Percentile(s, 95), P99: Percentile(s, 99),
	}
}

// Interval is a trial-level estimate of one metric: the mean over trials, the sample
// standard deviation and a 95% confidence interval for the mean. It is the result file's
// trial_stats entry, declared in package schema.
type Interval = schema.Interval

// Estimate returns the mean of xs with its 95% confidence interval from Student's t
// distribution with n-1 degrees of freedom: mean ± t(0.975, n-1)·s/√n, s the sample
// (n-1) standard deviation. Trials are few and their spread unknown, so t, not normal.
func Estimate(xs []float64) Interval { return EstimateAt(xs, 0.95) }

// EstimateAt is Estimate with an interval of the given confidence (0.99: t(0.995, n-1)).
// Its Low and High are written as ci95_low and ci95_high only by Estimate's callers.
func EstimateAt(xs []float64, confidence float64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(n)
	iv := Interval{N: n, Mean: mean, Values: slices.Clone(xs)}
	if n < 2 {
		return iv
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	iv.Std = math.Sqrt(ss / float64(n-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(1 - (1-confidence)/2)
	half := t * iv.Std / math.Sqrt(float64(n))
	lo, hi := mean-half, mean+half
	iv.Low, iv.High = &lo, &hi
	return iv
}

// Wilson returns the 95% Wilson score interval of a binomial proportion: k successes in n
// independent tries. Unlike the normal approximation it stays inside [0, 1] and is honest
// at the edges (k = n, small n), where SLO attainment lives: all 80 requests meeting an
// objective bound the true share below by 0.954, not by 1. With n = 0 it is [0, 1].
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	const z = 1.959963984540054 // the standard normal's 97.5% quantile
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return max(0, mid-half), min(1, mid+half)
}
