// Command servegate-merge pools the records of the shards of one measurement (each a
// process, or a pod of a Kubernetes Indexed Job, run with -shard=i/n) into one result
// file per framework and preset, with every metric computed over the pooled requests:
//
//	servegate-merge -in results
//
// reads results/<framework>/<framework>_<preset>_shard-<i>-of-<n>_records.ndjson.gz and
// writes results/<framework>/<framework>_<preset>_results.json and its records. Shards of
// different settings, a shard missing, or shards that did not start together are refused.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/servegate/servegate/harness/results"
)

func main() {
	in := flag.String("in", "results", "results directory holding the shards' records")
	fresh := flag.Bool("fresh", false, "start the result files over instead of adding the merged points to them")
	wait := flag.Duration("lock-wait", 0, "how long to wait for another process writing a result file")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	written, err := results.MergeDir(ctx, *in, results.Options{Fresh: *fresh, Wait: *wait,
		Logf: func(format string, args ...any) { fmt.Printf("servegate-merge: "+format+"\n", args...) }})
	for _, p := range written {
		fmt.Println("servegate-merge: wrote", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "servegate-merge:", err)
		os.Exit(1)
	}
}
