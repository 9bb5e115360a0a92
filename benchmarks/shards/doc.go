// Package shards tests a sharded measurement end to end: shard processes, each running
// its share of a point against one simulator process and lining up through a barrier
// directory, merged into one result (servegate-merge's code) and compared with one
// process measuring the whole load, and with the simulator's truth. Its tests run their
// own test binary as the shard processes.
package shards
