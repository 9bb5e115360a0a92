package launch

import (
	"fmt"
	"time"

	"github.com/servegate/servegate/harness/gpu"
)

// memoryReader reads every device's memory now (gpu.Sampler).
type memoryReader interface {
	Read() ([]gpu.Sample, error)
}

// releaseSlackMB is how far above its level before launch a device's used memory may stay
// after the server stops: the driver's own allocations move a little.
const releaseSlackMB = 512

// waitReleased polls until every device's used memory is back within releaseSlackMB of
// baseline, or timeout passes.
func waitReleased(r memoryReader, baseline []gpu.Sample, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Millisecond
	for {
		now, err := r.Read()
		if err != nil {
			return fmt.Errorf("check GPU memory release: %w", err)
		}
		held := ""
		for _, b := range baseline {
			for _, n := range now {
				if n.Device == b.Device && n.MemoryUsedMB > b.MemoryUsedMB+releaseSlackMB {
					held += fmt.Sprintf(" device %d holds %.0f MiB (%.0f before launch);", n.Device, n.MemoryUsedMB, b.MemoryUsedMB)
				}
			}
		}
		if held == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GPU memory not released %v after the server stopped:%s see nvidia-smi for the process holding it", timeout, held)
		}
		<-time.After(wait)
		wait = min(wait*2, 2*time.Second)
	}
}
